// Internal: reads PyTorch's pytorch_model.bin (torch.save's zip of data.pkl + raw storages) without
// executing anything. A tiny pickle machine understands the opcodes torch.save emits and resolves
// only a whitelist of globals (OrderedDict, the tensor-rebuild functions, storage types, dtypes);
// any other global is a FormatError before it could be "called".
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/src/safetensors.h"

namespace maum::convert {

// One tensor of a checkpoint, contiguous row-major, in its stored dtype.
struct LoadedTensor {
  core::DType dtype = core::DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

inline constexpr uint64_t kNoLimit = ~uint64_t{0};
// Bounds on what a pickle may make the reader allocate. A state dict needs a few dozen opcodes per
// tensor (BERT-large: ~10^4 in a ~100 KB data.pkl), so these leave room for thousands of tensors
// while a hostile pickle (or a small zip entry inflating to a huge one) stays within ~100 MB.
inline constexpr uint64_t kMaxPickleBytes = 64ull << 20;
inline constexpr size_t kMaxPickleOps = 1u << 20;

// Raw bytes of storage `key` (the name of its entry under <archive>/data/); throws FormatError if
// there is none.
using StorageLoader = std::function<std::vector<uint8_t>(const std::string& key)>;

// Runs the pickle `pickle` (data.pkl) whose top-level object must be a dict of name -> tensor.
// `source` names the file in error messages.
std::map<std::string, LoadedTensor> load_torch_pickle(const std::string& pickle, const StorageLoader& storages,
                                                      const std::string& source);

// Opens a torch zip checkpoint (pytorch_model.bin) with libzip and loads its state dict. The
// storages' bytes together may not exceed `max_storage_bytes` (what the model's tensors can
// need: convert derives it from config.json), checked against each entry's size before it is
// inflated; data.pkl may not exceed kMaxPickleBytes.
std::map<std::string, LoadedTensor> load_torch_zip(const std::string& path, uint64_t max_storage_bytes = kNoLimit);
// The same over an in-memory zip (`name` in messages).
std::map<std::string, LoadedTensor> load_torch_zip_bytes(const void* data, size_t size, const std::string& name,
                                                         uint64_t max_storage_bytes = kNoLimit);

}  // namespace maum::convert

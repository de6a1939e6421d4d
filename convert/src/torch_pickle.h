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

// Raw bytes of storage `key` (the name of its entry under <archive>/data/); throws FormatError if
// there is none.
using StorageLoader = std::function<std::vector<uint8_t>(const std::string& key)>;

// Runs the pickle `pickle` (data.pkl) whose top-level object must be a dict of name -> tensor.
// `source` names the file in error messages.
std::map<std::string, LoadedTensor> load_torch_pickle(const std::string& pickle, const StorageLoader& storages,
                                                      const std::string& source);

// Opens a torch zip checkpoint (pytorch_model.bin) with libzip and loads its state dict.
std::map<std::string, LoadedTensor> load_torch_zip(const std::string& path);

}  // namespace maum::convert

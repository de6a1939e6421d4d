// Internal: reading and writing the safetensors container (https://huggingface.co/docs/safetensors).
// Layout: u64 little-endian header length N, N bytes of JSON header, then the tensor bytes.
// Header: {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
// with offsets relative to the end of the header.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/src/mapped_file.h"

namespace maum::core {

enum class DType { F32, F16, BF16, F64, I8, U8, I16, I32, I64, BOOL };

const char* dtype_name(DType d);
size_t dtype_size(DType d);

// A read-only view of one tensor inside a mapped file (or a caller-owned buffer).
struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;  // points into the file's buffer; valid while the SafetensorsFile lives
  size_t nbytes = 0;

  int64_t numel() const;
};

// A fully validated safetensors file, read into memory it owns (MappedFile), whole or on demand. Validation on open:
// header length within the file, header is JSON of the documented shape, every dtype known, every
// shape non-negative with numel * dtype_size == end - begin (checked arithmetic), and the tensors
// tile the data area exactly: no overlaps, no gaps, no bytes after the last tensor (as the
// reference reader requires). Any violation throws maum::FormatError naming the file and the
// problem; I/O failures IoError.
class SafetensorsFile {
 public:
  // kOnDemand reads the header now and each tensor's bytes when load() or read_into() asks
  // (until then data points at bytes not read yet, which read as zeros).
  static std::shared_ptr<const SafetensorsFile> open(const std::string& path, Reading reading = Reading::kWhole);
  // The same over a copy of `size` bytes at `data`, named `name` in messages.
  static std::shared_ptr<const SafetensorsFile> from_bytes(const void* data, size_t size, const std::string& name);

  const std::string& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  // Throws FormatError if absent.
  const TensorView& get(const std::string& name) const;
  // Throws FormatError if absent, or its dtype/shape differ from what is expected.
  const TensorView& get(const std::string& name, DType dtype, const std::vector<int64_t>& shape) const;
  // Metadata value, or throws FormatError if absent.
  const std::string& meta(const std::string& key) const;
  // Gives the tensor's whole pages back to the system (MappedFile::release): they read as zeros
  // afterwards. Only for tensors the caller has copied and never reads again.
  void release(const TensorView& tensor) const;
  // The tensor's bytes, read from the file first when it was opened kOnDemand (tensor.data then).
  // Thread-safe: each tensor is read into its own range (the loader reads tensors in parallel).
  const uint8_t* load(const TensorView& tensor) const;
  // Copies the tensor's bytes to `out` (for kOnDemand straight from the file, leaving data()
  // unread: for weights that are repacked at load). Thread-safe.
  void read_into(const TensorView& tensor, void* out) const;
  // For kOnDemand: throws IoError if the file was changed in place since it was opened (see
  // MappedFile::check_unchanged); call after the last load/read_into.
  void check_unchanged() const;

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

 private:
  SafetensorsFile() = default;
  static std::shared_ptr<const SafetensorsFile> parse(std::shared_ptr<SafetensorsFile> file);
  std::string path_;
  std::unique_ptr<MappedFile> map_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, TensorView> tensors_;
};

// Parses "F32", "I8", ... (the safetensors dtype names); false if unknown.
bool parse_dtype(const std::string& name, DType* out);

// Builds a safetensors file. The data area starts 8-byte aligned (the header is padded with
// spaces, as the reference writer does). Tensors are laid out contiguously (the reference reader
// rejects gaps) in order of decreasing element size, insertion order within a size, so every
// tensor starts aligned to its own element size (F32 after I8 would otherwise be misaligned).
// Header keys are sorted (nlohmann's std::map order; "__metadata__" first).
class SafetensorsWriter {
 public:
  void set_metadata(const std::string& key, const std::string& value);
  // Copies the bytes. Throws InvalidArgument on a duplicate name or a size/shape mismatch.
  void add(const std::string& name, DType dtype, const std::vector<int64_t>& shape, const void* data,
           size_t nbytes);
  // Writes to a temporary file next to `path` and renames it over `path` (write_file_atomically:
  // never a truncated model under `path`, never over a read-only one). Throws IoError.
  void write(const std::string& path) const;

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace maum::core

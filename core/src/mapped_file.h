// Internal: a whole file's bytes in memory this process owns (read once at open, never mapped
// from the file). A model file that is truncated or overwritten in place while it is loaded can
// then neither fault the process (SIGBUS on a truncated mapping) nor change the weights under a
// running forward pass; the safe way to update a model is still to write a new file and rename it
// over the old one (docs/FORMAT.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace maum::core {

class MappedFile {
 public:
  // Reads the whole file. Throws maum::IoError if it cannot be opened or read, or if its size
  // changes while it is being read. An empty file has size 0.
  explicit MappedFile(const std::string& path);
  // A copy of `size` bytes at `data`, named `name` in messages (in-memory files, fuzzing).
  MappedFile(const std::string& name, const void* data, size_t size);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Gives the whole pages inside [data, data + bytes) (inside this buffer) back to the system
  // (madvise MADV_DONTNEED on private anonymous memory): afterwards they read as zeros. For data
  // the caller has copied and will never read again (weights repacked at load), so that the
  // original does not stay resident next to the copy. A range outside the buffer is ignored.
  void release(const uint8_t* data, size_t bytes) const;

 private:
  void allocate(size_t size);
  std::string path_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace maum::core

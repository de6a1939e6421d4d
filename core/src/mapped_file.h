// Internal: a read-only memory mapping of a whole file (no copy; pages load on demand).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace maum::core {

class MappedFile {
 public:
  // Throws maum::IoError if the file cannot be opened or mapped. An empty file maps to size 0.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Hint that [data, data + bytes) (inside this mapping) will not be read soon: the whole pages
  // inside the range are dropped from memory (madvise MADV_DONTNEED). The mapping is read-only and
  // private, so the contents are unchanged: a later read faults the pages back in from the file.
  // For data the caller has copied (e.g. weights repacked at load), so the file's pages do not
  // stay resident next to the copy. A range outside the mapping is ignored.
  void release(const uint8_t* data, size_t bytes) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace maum::core

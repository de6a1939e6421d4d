// Internal: a file's bytes in memory this process owns (read with pread, never mapped from the
// file). A model file that is truncated or overwritten in place while it is loaded can
// then neither fault the process (SIGBUS on a truncated mapping) nor change the weights under a
// running forward pass; the safe way to update a model is still to write a new file and rename it
// over the old one (docs/FORMAT.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/src/pages.h"

namespace maum::core {

// How much of a file is read when it is opened.
enum class Reading {
  kWhole,     // every byte, at open
  kOnDemand,  // nothing at open: load() and read_into() read the ranges asked for
};

class MappedFile {
 public:
  // Opens the file. kWhole reads all of it; kOnDemand reserves room for it (address space only:
  // pages nobody loads are never allocated) and keeps the file open for load()/read_into(), so a
  // model whose weights are repacked at load never holds their original bytes at all. Throws
  // maum::IoError if it cannot be opened or read, or if its size changes while it is being read.
  // An empty file has size 0.
  explicit MappedFile(const std::string& path, Reading reading = Reading::kWhole);
  // A copy of `size` bytes at `data`, named `name` in messages (in-memory files, fuzzing).
  MappedFile(const std::string& name, const void* data, size_t size);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Where the file's bytes are (or will be, once loaded, for kOnDemand).
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Gives the whole pages inside [data, data + bytes) (inside this buffer) back to the system
  // (madvise MADV_DONTNEED on private anonymous memory): afterwards they read as zeros. For data
  // the caller has copied and will never read again (weights repacked at load), so that the
  // original does not stay resident next to the copy. A range outside the buffer is ignored.
  void release(const uint8_t* data, size_t bytes) const;

  // kOnDemand: reads [offset, offset + bytes) of the file into its place in data() (again if
  // called again) and returns it; kWhole: returns it. Throws IoError for a
  // range outside the file, or a file that shrank.
  const uint8_t* load(size_t offset, size_t bytes) const;
  // Copies [offset, offset + bytes) of the file to `out` (from the file for kOnDemand, without
  // touching data()). Safe to call from several threads at once.
  void read_into(size_t offset, size_t bytes, void* out) const;
  // kOnDemand: throws IoError if the opened file's size or modification time differ from when it
  // was opened (it was written in place), so that bytes read at different times cannot silently
  // come from two versions. kWhole: nothing to check.
  void check_unchanged() const;

 private:
  void allocate(size_t size);
  // Throws IoError unless [offset, offset + bytes) lies inside the file.
  void check_range(size_t offset, size_t bytes) const;
  void pread_exactly(int fd, size_t offset, size_t bytes, uint8_t* out) const;
  std::string path_;
  PageBuffer buffer_;
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  int fd_ = -1;  // kOnDemand only
  struct Identity {
    // Not the status-change time: replacing the file by a rename (the safe update) unlinks the
    // opened inode, which changes its ctime though not one of its bytes.
    long long size = 0, mtime_ns = 0;
    bool operator==(const Identity& o) const { return size == o.size && mtime_ns == o.mtime_ns; }
  } identity_;
};

}  // namespace maum::core

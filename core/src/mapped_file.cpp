#include "core/src/mapped_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <new>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maum/error.h"

namespace maum::core {

namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

long long nanoseconds(const struct timespec& t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

}  // namespace

void MappedFile::allocate(size_t size) {
  size_ = size;
  if (size == 0) return;
  // Whole pages of their own (not malloc): release() can hand them back to the system.
  try {
    buffer_ = PageBuffer(size);
  } catch (const std::bad_alloc&) {
    throw IoError(path_ + ": cannot allocate " + std::to_string(size) + " bytes");
  }
  data_ = buffer_.data();
}

MappedFile::MappedFile(const std::string& path, Reading reading) : path_(path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw IoError(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw IoError(path + ": cannot stat: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw IoError(path + ": not a regular file");
  identity_ = {static_cast<long long>(st.st_size), nanoseconds(st.st_mtim)};
  allocate(static_cast<size_t>(st.st_size));
  if (reading == Reading::kOnDemand) {
    // Written sparsely: no huge pages but for the ranges load() fills whole (see pages.h).
    refuse_huge_pages(data_, size_);
    fd_ = f.fd;
    f.fd = -1;  // kept open for load() / read_into()
    return;
  }
  try {
    offer_huge_pages(data_, size_);
    pread_exactly(f.fd, 0, size_, data_);
    char extra;
    ssize_t n;
    do n = ::pread(f.fd, &extra, 1, static_cast<off_t>(size_)); while (n < 0 && errno == EINTR);
    if (n > 0)
      throw IoError(path + ": the file grew while it was being read; replace model files by renaming a complete "
                    "copy over them");
  } catch (...) {
    buffer_ = PageBuffer();
    data_ = nullptr;
    throw;
  }
}

void MappedFile::check_range(size_t offset, size_t bytes) const {
  if (offset > size_ || bytes > size_ - offset)
    throw IoError(path_ + ": read of " + std::to_string(bytes) + " bytes at " + std::to_string(offset) +
                  " is outside the file (" + std::to_string(size_) + " bytes)");
}

void MappedFile::pread_exactly(int fd, size_t offset, size_t bytes, uint8_t* out) const {
  check_range(offset, bytes);
  size_t got = 0;
  while (got < bytes) {
    const ssize_t n = ::pread(fd, out + got, bytes - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw IoError(path_ + ": cannot read: " + std::strerror(errno));
    if (n == 0)
      throw IoError(path_ + ": the file shrank while it was being read (" + std::to_string(offset + got) +
                    " of " + std::to_string(size_) +
                    " bytes); replace model files by renaming a complete copy over them");
    got += static_cast<size_t>(n);
  }
}

const uint8_t* MappedFile::load(size_t offset, size_t bytes) const {
  if (fd_ >= 0) {
    check_range(offset, bytes);
    offer_huge_pages(data_ + offset, bytes);
    pread_exactly(fd_, offset, bytes, data_ + offset);
  } else {
    check_range(offset, bytes);
  }
  return data_ + offset;
}

void MappedFile::read_into(size_t offset, size_t bytes, void* out) const {
  if (fd_ >= 0) {
    pread_exactly(fd_, offset, bytes, static_cast<uint8_t*>(out));
    return;
  }
  check_range(offset, bytes);
  if (bytes) std::memcpy(out, data_ + offset, bytes);
}

void MappedFile::check_unchanged() const {
  if (fd_ < 0) return;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw IoError(path_ + ": cannot stat: " + std::strerror(errno));
  const Identity now{static_cast<long long>(st.st_size), nanoseconds(st.st_mtim)};
  if (!(now == identity_))
    throw IoError(path_ + ": the file was changed in place while it was being read; replace model files by "
                  "renaming a complete copy over them");
}

MappedFile::MappedFile(const std::string& name, const void* data, size_t size) : path_(name) {
  allocate(size);
  if (size) std::memcpy(data_, data, size);
}

void MappedFile::release(const uint8_t* data, size_t bytes) const {
  if (!data_ || data < data_ || bytes > size_ || static_cast<size_t>(data - data_) > size_ - bytes)
    return;
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) / page * page;
  // Only pages wholly inside the range: a neighbouring tensor sharing a boundary page stays put.
  // Failure only means the pages stay resident, so it is not an error.
  if (end > begin) {
    refuse_huge_pages(reinterpret_cast<const uint8_t*>(begin), end - begin);
    ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
  }
}

MappedFile::~MappedFile() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace maum::core

#include "core/src/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "maum/error.h"
#include "maum/files.h"

namespace maum::core {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw IoError(path + ": cannot read");
  return ss.str();
}

void write_file_atomically(const std::string& path, const std::function<bool(std::FILE*)>& write) {
  struct stat existing {};
  const bool exists = ::stat(path.c_str(), &existing) == 0;
  // rename() would replace a file the user cannot write (it only needs the folder writable). A
  // file without any write permission bit is read-only on purpose, for root too (access()
  // grants root everything).
  if (exists && (::access(path.c_str(), W_OK) != 0 || !(existing.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH))))
    throw IoError(path + ": cannot write: the file is read-only (left as it is)");
  if (exists && !S_ISREG(existing.st_mode)) throw IoError(path + ": cannot write: not a regular file");
  std::string tmp = path + ".tmp-XXXXXX";
  int fd = ::mkstemp(tmp.data());
  if (fd < 0) throw IoError(path + ": cannot create a temporary file next to it: " + std::strerror(errno));
  FILE* f = ::fdopen(fd, "wb");
  if (!f) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    throw IoError(path + ": cannot write: " + std::strerror(err));
  }
  errno = 0;
  bool ok = write(f) && std::fflush(f) == 0 && !std::ferror(f);
  int err = ok ? 0 : (errno ? errno : EIO);
  if (std::fclose(f) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok) {
    mode_t mode = existing.st_mode & 07777;
    if (!exists) {
      // mkstemp creates 0600; a new file is an ordinary readable file.
      const mode_t mask = ::umask(0);
      ::umask(mask);
      mode = 0666 & ~mask;
    }
    if (::chmod(tmp.c_str(), mode) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
      ok = false;
      err = errno;
    }
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    throw IoError(path + ": cannot write: " + std::strerror(err));
  }
}

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(path + ": invalid JSON: " + e.what());
  }
}

}  // namespace maum::core

namespace maum {

void write_file(const std::string& path, const std::string& content) {
  core::write_file_atomically(path, [&](std::FILE* f) {
    return std::fwrite(content.data(), 1, content.size(), f) == content.size();
  });
}

}  // namespace maum

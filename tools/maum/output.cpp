#include "tools/maum/output.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <streambuf>
#include <string>

#include "maum/error.h"

namespace maum::cli {

namespace {

// std::cout's buffer: 64 KiB, written to descriptor 1 with write(2), keeping the errno of the
// first failed write (iostreams only keep a badbit, and errno has moved on by the time anyone
// looks). After a failure further output is dropped: the command is failing anyway.
class StdoutBuf : public std::streambuf {
 public:
  StdoutBuf() { setp(buffer_, buffer_ + sizeof buffer_); }
  int error() const { return error_; }
  bool failed() const { return failed_; }

 protected:
  int_type overflow(int_type c) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(c);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  bool drain() {
    const char* p = pbase();
    size_t left = static_cast<size_t>(pptr() - pbase());
    while (left > 0 && !failed_) {
      const ssize_t n = ::write(STDOUT_FILENO, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        failed_ = true;
        error_ = n < 0 ? errno : EIO;
        break;
      }
      p += n;
      left -= static_cast<size_t>(n);
    }
    setp(buffer_, buffer_ + sizeof buffer_);
    return !failed_;
  }
  char buffer_[1 << 16];
  int error_ = 0;
  bool failed_ = false;
};

StdoutBuf* installed = nullptr;

[[noreturn]] void fail(int err) {
  throw IoError(std::string("standard output: cannot write: ") + (err ? std::strerror(err) : "write error"));
}

}  // namespace

void use_checked_stdout() {
  // Never destroyed: std::cout is flushed at exit (after a usage error or --help), after every
  // static object has gone.
  static StdoutBuf* buf = new StdoutBuf;
  // Unsynchronized iostreams (std::cin buffered too: tokenize and classify read large inputs);
  // this must come before any I/O, and before the buffer below (it would replace it).
  std::ios::sync_with_stdio(false);
  std::cout.flush();
  std::cout.rdbuf(buf);
  installed = buf;
}

void check_stdout() {
  std::cout.flush();
  if (installed && installed->failed()) fail(installed->error());
  if (!std::cout) fail(0);
  // C stdio (printf) keeps its own buffer, flushed here; errno is fresh for this flush.
  errno = 0;
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) fail(errno);
}

void close_stdout() {
  check_stdout();
  errno = 0;
  if (std::fclose(stdout) != 0) fail(errno);
}

}  // namespace maum::cli

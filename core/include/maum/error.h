// Typed errors thrown by every part of libmaum. Nothing in the library aborts on user input: a bad
// file, bad text or a bad option becomes one of these, with a message that names the problem.
#pragma once
#include <stdexcept>
#include <string>

namespace maum {

// Base of all libmaum errors; catch this to handle any of them.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A file could not be opened, read, mapped or written.
class IoError : public Error {
 public:
  using Error::Error;
};

// A model, tokenizer, config or data file is malformed, truncated, inconsistent or unsupported.
class FormatError : public Error {
 public:
  using Error::Error;
};

// An argument from the caller is invalid: text that is not UTF-8, an out-of-range option, etc.
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

}  // namespace maum

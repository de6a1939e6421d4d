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

// A database (the emotion history, history/) refused an operation: the disk or its size limit is
// full, the file is read-only, locked too long by another writer, corrupt, or of a newer schema.
// Nothing the failed call was asked to store is stored.
class StorageError : public IoError {
 public:
  enum class Kind { Full, ReadOnly, Busy, Corrupt, Schema, Other };
  StorageError(Kind kind, const std::string& what) : IoError(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace maum

// Internal: whole-file reads with the library's typed errors, shared by every loader.
#pragma once
#include <cstdio>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace maum::core {

// The file's bytes. Throws maum::IoError naming the path and the OS reason.
std::string read_file(const std::string& path);

// Writes `path` through a temporary file next to it: `write` fills the open FILE* and returns
// false on failure; the file is then flushed, closed and renamed over `path` (keeping an existing
// file's permission bits, else 0666 & ~umask). An existing `path` that is not writable is refused
// before anything is written. Throws IoError; on any failure `path` is unchanged and the
// temporary file removed. maum::write_file (maum/files.h) is this for a string.
void write_file_atomically(const std::string& path, const std::function<bool(std::FILE*)>& write);

// The file parsed as JSON. Throws IoError (unreadable) or FormatError naming the path (not JSON).
nlohmann::json read_json_file(const std::string& path);

}  // namespace maum::core

// Internal: whole-file reads with the library's typed errors, shared by every loader.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace maum::core {

// The file's bytes. Throws maum::IoError naming the path and the OS reason.
std::string read_file(const std::string& path);

// The file parsed as JSON. Throws IoError (unreadable) or FormatError naming the path (not JSON).
nlohmann::json read_json_file(const std::string& path);

}  // namespace maum::core

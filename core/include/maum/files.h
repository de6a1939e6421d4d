// Writing a file the user named: never a partially written file under that name, never over a
// destination the user cannot write.
#pragma once
#include <string>

namespace maum {

// Writes `content` to `path` through a temporary file in the same folder that is flushed, closed
// and only then renamed over `path`. An existing `path` keeps its permission bits; one that is
// not writable (e.g. read-only) is refused and left as it is. Throws maum::IoError naming the path
// and the reason (full disk, read-only destination, missing folder); `path` is then unchanged.
void write_file(const std::string& path, const std::string& content);

}  // namespace maum

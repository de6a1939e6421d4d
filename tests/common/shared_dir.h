// Where tests find ../shared (models, vocabularies, data, golden references): $MAUM_SHARED if set,
// else the folder configured at build time. Tests that need it fail loudly when it is missing:
// silently skipping conformance would hide regressions.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace maum::testing {

inline std::string shared_dir() {
  const char* env = std::getenv("MAUM_SHARED");
  return env && *env ? std::string(env) : std::string(MAUM_SHARED_DEFAULT);
}

// Path under the shared folder; fails the current test if it does not exist.
inline std::string shared_path(const std::string& rel) {
  std::string p = shared_dir() + "/" + rel;
  if (!std::filesystem::exists(p)) {
    ADD_FAILURE() << "missing shared material: " << p
                  << " (set MAUM_SHARED to the shared folder; default is ../shared beside the checkout)";
  }
  return p;
}

}  // namespace maum::testing

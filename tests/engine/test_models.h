// Test helper: the shared Hugging Face checkpoints (models/ and models-random/) converted once per test process into a
// temporary folder (removed at exit).
#pragma once
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

#include "maum/convert.h"
#include "tests/common/shared_dir.h"

namespace maum::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "maum-engine-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline TempDir& process_temp_dir() {
  static TempDir dir;
  return dir;
}

// A parameterized test's name for a shared model ("ko-emotion7-small" -> "ko_emotion7_small").
inline std::string model_param_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
}

// The folder of shared checkpoint `name`: models/<name> (trained) or models-random/<name>.
inline std::string shared_model_dir(const std::string& name) {
  if (std::filesystem::exists(shared_dir() + "/models/" + name)) return shared_path("models/" + name);
  return shared_path("models-random/" + name);
}

// Path of shared checkpoint `name` converted to a maum file ("int8" quantizes).
// quantize: "none", "int8", or "int8-7bit" (int8 with --reduce-range).
inline std::string converted_model(const std::string& name, const std::string& quantize = "none") {
  static std::mutex mutex;
  static std::map<std::string, std::string> done;
  std::lock_guard<std::mutex> lock(mutex);
  const std::string key = name + "/" + quantize;
  auto it = done.find(key);
  if (it != done.end()) return it->second;
  const std::string out = process_temp_dir().path() + "/" + name + "." + quantize + ".safetensors";
  ConvertOptions options;
  options.quantize = quantize == "int8-7bit" ? "int8" : quantize;
  options.reduce_range = quantize == "int8-7bit";
  const std::string dir = shared_model_dir(name);
  convert_hf_model(dir, out, options);
  done[key] = out;
  return out;
}

}  // namespace maum::testing

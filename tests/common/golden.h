// Test helper: one file of the PyTorch reference outputs, ../shared/golden/model/<model>/<file>.jsonl
// ({"text", "ids", "logits", "probs"} per line; see ../shared/README.md).
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/shared_dir.h"

namespace maum::testing {

struct GoldenModelLines {
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<float>> logits;
};

// The first `limit` lines of golden/model/<model>/<file> (a failure if there are none).
inline GoldenModelLines read_golden_model(const std::string& model, const std::string& file,
                                          size_t limit = SIZE_MAX) {
  GoldenModelLines g;
  std::ifstream in(shared_path("golden/model/" + model + "/" + file));
  std::string line;
  while (g.ids.size() < limit && std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    g.texts.push_back(j.at("text").get<std::string>());
    g.ids.push_back(j.at("ids").get<std::vector<int32_t>>());
    g.logits.push_back(j.at("logits").get<std::vector<float>>());
  }
  EXPECT_FALSE(g.ids.empty()) << model << "/" << file;
  return g;
}

}  // namespace maum::testing

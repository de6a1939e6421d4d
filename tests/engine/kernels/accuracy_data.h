// Test helper of the accuracy tests (int8_accuracy_test.cpp, bf16_accuracy_test.cpp): the shared
// labelled test sets the two trained checkpoints were evaluated on, and macro-F1.
//  - ko_single7 fold 9 (3,908 Korean sentences, 7 labels): ko-emotion7-small's test set.
//  - GoEmotions original test (5,427 English comments, 28 labels, multi-label).
// Both are in the order of the golden PyTorch outputs (golden/model/<model>/corpus_*_test.jsonl).
#pragma once
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/shared_dir.h"

namespace maum {
namespace {

struct Example {
  std::string text;
  std::vector<int> labels;  // ids
};

std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

// ko_single7/all.tsv: id, text, label (Korean name), fold — with a header.
std::vector<Example> load_ko_test(const std::vector<std::string>& model_labels) {
  const std::map<std::string, std::string> korean = {
      {"공포", "fear"},     {"놀람", "surprise"},  {"분노", "anger"},  {"슬픔", "sadness"},
      {"중립", "neutral"},  {"행복", "happiness"}, {"혐오", "disgust"}};
  std::ifstream in(testing::shared_path("data/ko_single7/all.tsv"));
  std::string line;
  std::getline(in, line);  // header
  std::vector<Example> out;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto f = split(line, '\t');
    if (f.size() < 4 || f[3] != "9") continue;
    const auto it = korean.find(f[2]);
    if (it == korean.end()) {
      ADD_FAILURE() << "unknown label " << f[2];
      continue;
    }
    const auto pos = std::find(model_labels.begin(), model_labels.end(), it->second);
    if (pos == model_labels.end()) {
      ADD_FAILURE() << "model has no label " << it->second;
      continue;
    }
    out.push_back({f[1], {static_cast<int>(pos - model_labels.begin())}});
  }
  return out;
}

// goemotions/original/test.tsv: text, comma-separated label ids, id — no header.
std::vector<Example> load_goemotions_test() {
  std::ifstream in(testing::shared_path("data/goemotions/original/test.tsv"));
  std::string line;
  std::vector<Example> out;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto f = split(line, '\t');
    if (f.size() < 3) continue;
    Example e{f[0], {}};
    for (const auto& id : split(f[1], ',')) e.labels.push_back(std::stoi(id));
    out.push_back(std::move(e));
  }
  return out;
}

// Macro-F1 over `labels` classes from per-example predicted / true label sets (sklearn's
// definition with zero_division = 0).
double macro_f1(const std::vector<std::vector<int>>& predicted, const std::vector<Example>& truth,
                size_t labels) {
  std::vector<double> tp(labels), fp(labels), fn(labels);
  for (size_t i = 0; i < truth.size(); ++i) {
    for (size_t c = 0; c < labels; ++c) {
      const bool p = std::count(predicted[i].begin(), predicted[i].end(), int(c)) > 0;
      const bool t = std::count(truth[i].labels.begin(), truth[i].labels.end(), int(c)) > 0;
      tp[c] += p && t;
      fp[c] += p && !t;
      fn[c] += !p && t;
    }
  }
  double sum = 0;
  for (size_t c = 0; c < labels; ++c) {
    const double denom = 2 * tp[c] + fp[c] + fn[c];
    sum += denom > 0 ? 2 * tp[c] / denom : 0.0;
  }
  return sum / static_cast<double>(labels);
}

}  // namespace
}  // namespace maum

// Conformance with the independent PyTorch reference (shared/golden/model/<model>/*.jsonl, made by
// shared/tools/bertref.py on Hugging Face tokenizer ids): convert each shared checkpoint (BERT,
// ELECTRA, RoBERTa with WordPiece and byte-level BPE vocabularies, DistilBERT, and BERT read from
// TensorFlow's tf_model.h5), run the
// golden ids through Model::logits at batch 1 and batch 32, and require every logit within 1e-4
// absolute of the reference. Separately, classify() on the golden texts must tokenize to the
// golden ids and give the same logits (tokenizer + engine end to end).
// MAUM_CONFORMANCE_LINES=N limits each file to its first N lines (for slow kernel sets).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "maum/model.h"
#include "maum/runtime.h"
#include "tests/engine/test_models.h"

namespace maum {
namespace {

constexpr double kLogitTolerance = 1e-4;

struct GoldenFile {
  std::string name;
  std::vector<std::string> texts;
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<float>> logits;
};

size_t line_limit() {
  const char* env = std::getenv("MAUM_CONFORMANCE_LINES");
  return env && *env ? static_cast<size_t>(std::strtoull(env, nullptr, 10)) : SIZE_MAX;
}

std::vector<GoldenFile> read_golden(const std::string& model) {
  std::vector<GoldenFile> files;
  const std::string dir = testing::shared_path("golden/model/" + model);
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".jsonl") paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  const size_t limit = line_limit();
  for (const auto& path : paths) {
    GoldenFile f;
    f.name = path.filename().string();
    std::ifstream in(path);
    std::string line;
    while (f.ids.size() < limit && std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      f.texts.push_back(j.at("text").get<std::string>());
      f.ids.push_back(j.at("ids").get<std::vector<int32_t>>());
      f.logits.push_back(j.at("logits").get<std::vector<float>>());
    }
    EXPECT_FALSE(f.ids.empty()) << path;
    files.push_back(std::move(f));
  }
  EXPECT_FALSE(files.empty()) << "no golden files in " << dir;
  return files;
}

// Max |a - b| over all lines; records each line over tolerance as a test failure (first few).
double compare(const GoldenFile& f, const std::vector<std::vector<float>>& got, const std::string& what) {
  EXPECT_EQ(got.size(), f.logits.size());
  double max_diff = 0;
  size_t bad = 0;
  for (size_t i = 0; i < std::min(got.size(), f.logits.size()); ++i) {
    EXPECT_EQ(got[i].size(), f.logits[i].size());
    double line_max = 0;
    for (size_t k = 0; k < std::min(got[i].size(), f.logits[i].size()); ++k)
      line_max = std::max(line_max, std::fabs(double(got[i][k]) - double(f.logits[i][k])));
    if (!(line_max <= kLogitTolerance) && ++bad <= 5)
      ADD_FAILURE() << f.name << " line " << i + 1 << " (" << what << "): max |diff| " << line_max;
    if (!(line_max <= max_diff)) max_diff = line_max;
  }
  EXPECT_EQ(bad, 0u) << f.name << " (" << what << "): lines over " << kLogitTolerance;
  return max_diff;
}

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST_P(Conformance, GoldenLogitsAtBatch1And32) {
  const std::string model_name = GetParam();
  const Model model = Model::load(testing::converted_model(model_name));
  std::cout << "[ kernels  ] " << runtime_info() << "\n";
  for (const GoldenFile& f : read_golden(model_name)) {
    const double d1 = compare(f, model.logits(f.ids, {}, 1), "batch 1");
    const double d32 = compare(f, model.logits(f.ids, {}, 32), "batch 32");
    std::cout << "[ golden   ] " << model_name << "/" << f.name << ": " << f.ids.size()
              << " lines, max |logit diff| batch 1: " << d1 << ", batch 32: " << d32 << "\n";
  }
}

TEST_P(Conformance, ClassifyTokenizesToGoldenIdsAndMatchesLogits) {
  const std::string model_name = GetParam();
  const Model model = Model::load(testing::converted_model(model_name));
  for (const GoldenFile& f : read_golden(model_name)) {
    size_t id_mismatches = 0;
    for (size_t i = 0; i < f.texts.size(); ++i) {
      const auto ids = model.tokenizer().encode(f.texts[i]).ids;
      if (ids != f.ids[i] && ++id_mismatches <= 5)
        ADD_FAILURE() << f.name << " line " << i + 1 << ": tokenizer ids differ from golden";
    }
    EXPECT_EQ(id_mismatches, 0u) << f.name;
    ClassifyOptions options;
    options.batch_size = 32;
    const auto results = model.classify(f.texts, options);
    std::vector<std::vector<float>> logits;
    for (const auto& r : results) logits.push_back(r.logits);
    const double d = compare(f, logits, "classify");
    std::cout << "[ golden   ] " << model_name << "/" << f.name << ": classify over "
              << f.texts.size() << " texts, " << id_mismatches
              << " id mismatches, max |logit diff| " << d << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(SharedModels, Conformance,
                         ::testing::Values("ko-emotion7-small", "en-goemotions-electra-small",
                                           "roberta-klue-random", "roberta-bpe-multilabel-random",
                                           "distilbert-en-random", "ko-emotion7-small-tf"),
                         testing::model_param_name);

}  // namespace
}  // namespace maum

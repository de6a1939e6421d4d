// Conformance with Hugging Face `tokenizers`: every vocabulary in shared/vocab against every
// golden corpus in shared/golden/tok/<vocab>/<corpus>.jsonl (ids, type ids and code-point offsets
// as HF's node binding reported them). Must be 100%.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "maum/tokenizer.h"
#include "tests/common/shared_dir.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string join(const std::vector<int32_t>& v) {
  std::ostringstream s;
  for (size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << v[i];
  return s.str();
}

std::string join_offsets(const std::vector<std::pair<uint32_t, uint32_t>>& v) {
  std::ostringstream s;
  for (size_t i = 0; i < v.size(); ++i) s << (i ? "," : "") << "[" << v[i].first << "," << v[i].second << "]";
  return s.str();
}

void check_vocab(const std::string& vocab) {
  const std::string vocab_dir = maum::testing::shared_path("vocab/" + vocab);
  const std::string golden_dir = maum::testing::shared_path("golden/tok/" + vocab);
  ASSERT_TRUE(fs::is_directory(golden_dir));
  const maum::Tokenizer tok = maum::Tokenizer::from_dir(vocab_dir);
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(golden_dir))
    if (e.path().extension() == ".jsonl") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no golden files in " << golden_dir;
  size_t total = 0, total_ok = 0;
  for (const auto& file : files) {
    std::ifstream in(file);
    ASSERT_TRUE(in) << file;
    std::string line;
    size_t n = 0, ok = 0, shown = 0;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const json g = json::parse(line);
      const std::string text = g["text"];
      const auto ids = g["ids"].get<std::vector<int32_t>>();
      const auto type_ids = g["type_ids"].get<std::vector<int32_t>>();
      std::vector<std::pair<uint32_t, uint32_t>> offsets;
      for (const auto& o : g["offsets"]) offsets.push_back({o[0].get<uint32_t>(), o[1].get<uint32_t>()});
      ++n;
      maum::Encoding e;
      std::string error;
      try {
        e = tok.encode(text);
      } catch (const std::exception& ex) {
        error = ex.what();
      }
      if (error.empty() && e.ids == ids && e.type_ids == type_ids && e.offsets == offsets) {
        ++ok;
        continue;
      }
      if (shown++ < 5) {
        ADD_FAILURE() << vocab << "/" << file.filename().string() << " line " << n << ": " << json(text).dump()
                      << "\n  expected ids " << join(ids) << "\n       got ids " << join(e.ids)
                      << "\n  expected offsets " << join_offsets(offsets) << "\n       got offsets "
                      << join_offsets(e.offsets) << (error.empty() ? "" : "\n  error: " + error)
                      << "\n  golden tokens " << g["tokens"].dump();
      }
    }
    std::cout << "[conformance] " << vocab << "/" << file.filename().string() << ": " << ok << "/" << n
              << " identical" << std::endl;
    EXPECT_EQ(ok, n) << vocab << "/" << file.filename().string();
    total += n;
    total_ok += ok;
  }
  std::cout << "[conformance] " << vocab << " total: " << total_ok << "/" << total << " identical" << std::endl;
}

TEST(TokenizerConformance, KlueBertBase) { check_vocab("klue-bert-base"); }
TEST(TokenizerConformance, KoElectraV3) { check_vocab("koelectra-v3"); }
TEST(TokenizerConformance, KcElectraV2022) { check_vocab("kcelectra-v2022"); }
TEST(TokenizerConformance, EnUncased) { check_vocab("en-uncased"); }

// The serialized form (what a converted model embeds) must tokenize exactly as the original.
TEST(TokenizerConformance, SerializedRoundTrip) {
  for (const char* vocab : {"klue-bert-base", "koelectra-v3", "en-uncased"}) {
    const maum::Tokenizer tok = maum::Tokenizer::from_dir(maum::testing::shared_path(std::string("vocab/") + vocab));
    const maum::Tokenizer back = maum::Tokenizer::from_serialized(tok.serialize());
    EXPECT_EQ(back.vocab_size(), tok.vocab_size());
    std::ifstream in(maum::testing::shared_path("golden/corpora/adversarial.txt"));
    std::string line;
    size_t n = 0;
    while (std::getline(in, line)) {
      const auto a = tok.encode(line, {0, true, 0, maum::InvalidUtf8::kReplace});
      const auto b = back.encode(line, {0, true, 0, maum::InvalidUtf8::kReplace});
      EXPECT_EQ(a.ids, b.ids) << vocab << ": " << line;
      EXPECT_EQ(a.offsets, b.offsets) << vocab << ": " << line;
      ++n;
    }
    EXPECT_GT(n, 50u);
  }
}

}  // namespace

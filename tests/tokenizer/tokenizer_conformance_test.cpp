// Conformance with Hugging Face `tokenizers`: every vocabulary in shared/vocab against every
// golden corpus in shared/golden/tok/<vocab>/<corpus>.jsonl (ids, type ids and code-point offsets
// as HF's node binding reported them). Must be 100%. The byte-level BPE vocabulary is checked
// loaded both from its tokenizer.json and from vocab.json + merges.txt (as transformers'
// RobertaConverter builds it); the klue/roberta-style WordPiece folder against klue-bert-base's
// golden ids with the specials renumbered.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

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

// The golden ids of `vocab` against the tokenizer loaded from vocab_dir (default shared/vocab/<vocab>),
// with golden ids mapped through id_map where given.
void check_vocab(const std::string& vocab, const std::string& dir = {},
                 const std::map<int32_t, int32_t>& id_map = {}) {
  const std::string vocab_dir = dir.empty() ? maum::testing::shared_path("vocab/" + vocab) : dir;
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
      auto ids = g["ids"].get<std::vector<int32_t>>();
      for (auto& id : ids)
        if (auto it = id_map.find(id); it != id_map.end()) id = it->second;
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
TEST(TokenizerConformance, BpeRobertaStyleTokenizerJson) { check_vocab("bpe-roberta-style"); }

// The same vocabulary from vocab.json + merges.txt + tokenizer_config.json + special_tokens_map.json
// only (a temporary folder with those four files).
TEST(TokenizerConformance, BpeRobertaStyleVocabJsonAndMerges) {
  const fs::path src = maum::testing::shared_path("vocab/bpe-roberta-style");
  const fs::path dir = fs::temp_directory_path() / ("maum-bpe-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
    fs::copy_file(src / f, dir / f, fs::copy_options::overwrite_existing);
  ASSERT_FALSE(fs::exists(dir / "tokenizer.json"));
  check_vocab("bpe-roberta-style", dir.string());
  fs::remove_all(dir);
}

// klue/roberta-style folder: vocab.txt with [CLS]=0 [PAD]=1 [SEP]=2 [UNK]=3 [MASK]=4 and a
// BertTokenizer config, no tokenizer.json. Its ids are klue-bert-base's ([PAD]=0 [UNK]=1 [CLS]=2
// [SEP]=3 [MASK]=4) with the specials renumbered (shared/README.md).
TEST(TokenizerConformance, KlueRobertaStyleVocabTxt) {
  const std::string dir = maum::testing::shared_path("models-random/roberta-klue-random");
  const maum::Tokenizer tok = maum::Tokenizer::from_dir(dir);
  EXPECT_EQ(tok.cls_id(), 0);
  EXPECT_EQ(tok.pad_id(), 1);
  EXPECT_EQ(tok.sep_id(), 2);
  EXPECT_EQ(tok.unk_id(), 3);
  EXPECT_EQ(tok.token_to_id("[MASK]"), 4);
  check_vocab("klue-bert-base", dir, {{0, 1}, {1, 3}, {2, 0}, {3, 2}, {4, 4}});
}

// The serialized form (what a converted model embeds) must tokenize exactly as the original.
TEST(TokenizerConformance, SerializedRoundTrip) {
  for (const char* vocab : {"klue-bert-base", "koelectra-v3", "en-uncased", "bpe-roberta-style"}) {
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

// `maum tokenize` end to end: golden texts in on stdin, the HF golden ids/type_ids/offsets out,
// one JSON line per input line in order; invalid UTF-8 names the line.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/cli.h"
#include "tests/common/shared_dir.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using maum::testing::shell_quote;

// Tests read stdout and stderr together: results and error messages.
class TokenizeCli : public maum::testing::CliSandbox {
 protected:
  struct Output {
    int status;
    std::string out;
  };
  static Output run(const std::string& args, const std::string& input) {
    maum::testing::RunResult r = CliSandbox::run(args, input);
    return {r.status, r.out + r.err};
  }
  // `maum tokenize --vocab DIR` on 300 lines of two golden corpora of `vocab`, golden ids mapped
  // through id_map.
  static void expect_golden(const std::string& dir, const std::string& vocab, const std::map<int, int>& id_map = {}) {
    std::vector<json> golden;
    for (const char* corpus : {"adversarial.jsonl", "corpus_ko7_test.jsonl"}) {
      std::ifstream in(maum::testing::shared_path("golden/tok/" + vocab + "/" + corpus));
      std::string line;
      for (int i = 0; i < 300 && std::getline(in, line); ++i) golden.push_back(json::parse(line));
    }
    ASSERT_FALSE(golden.empty()) << vocab;
    std::string input;
    for (auto& g : golden) {
      input += g["text"].get<std::string>() + "\n";
      for (auto& id : g["ids"])
        if (auto it = id_map.find(id.get<int>()); it != id_map.end()) id = it->second;
    }
    auto r = CliSandbox::run("tokenize --vocab " + shell_quote(dir) + " --threads 2", input);
    ASSERT_EQ(r.status, 0) << r.out << r.err;
    std::istringstream lines(r.out);
    std::string line;
    size_t n = 0;
    while (std::getline(lines, line)) {
      ASSERT_LT(n, golden.size()) << "more output lines than inputs";
      const json got = json::parse(line);
      EXPECT_EQ(got["ids"], golden[n]["ids"]) << dir << " line " << n + 1 << ": " << golden[n]["text"];
      EXPECT_EQ(got["type_ids"], golden[n]["type_ids"]) << dir << " line " << n + 1;
      EXPECT_EQ(got["offsets"], golden[n]["offsets"]) << dir << " line " << n + 1;
      ++n;
    }
    EXPECT_EQ(n, golden.size());
  }
};

TEST_F(TokenizeCli, MatchesGoldenIdsAndOffsets) {
  expect_golden(maum::testing::shared_path("vocab/klue-bert-base"), "klue-bert-base");
}

// A byte-level BPE folder: picked from the folder (tokenizer.json; vocab.json + merges.txt only).
TEST_F(TokenizeCli, BpeFolderMatchesGolden) {
  expect_golden(maum::testing::shared_path("vocab/bpe-roberta-style"), "bpe-roberta-style");
  expect_golden(maum::testing::shared_path("models-random/roberta-bpe-multilabel-random"), "bpe-roberta-style");
}

// klue/roberta-style vocab.txt ([CLS]=0 [PAD]=1 [SEP]=2 [UNK]=3 [MASK]=4): klue-bert-base's golden
// ids with the specials renumbered.
TEST_F(TokenizeCli, KlueRobertaStyleFolderRenumbersSpecials) {
  expect_golden(maum::testing::shared_path("models-random/roberta-klue-random"), "klue-bert-base",
                {{0, 1}, {1, 3}, {2, 0}, {3, 2}, {4, 4}});
}

TEST_F(TokenizeCli, ModelFileEmbedsTheSameTokenizer) {
  // ko-emotion7-small uses the klue/bert-base vocabulary: the tokenizer embedded by `maum convert`
  // must give the klue-bert-base golden ids.
  const std::string model = CliSandbox::model("ko-emotion7-small");
  std::vector<json> golden;
  std::ifstream in(maum::testing::shared_path("golden/tok/klue-bert-base/corpus_ko7_test.jsonl"));
  std::string line, input;
  for (int i = 0; i < 100 && std::getline(in, line); ++i) {
    golden.push_back(json::parse(line));
    input += golden.back()["text"].get<std::string>() + "\n";
  }
  Output r = run("tokenize --model " + shell_quote(model), input);
  ASSERT_EQ(r.status, 0) << r.out;
  std::istringstream lines(r.out);
  size_t n = 0;
  while (std::getline(lines, line) && n < golden.size()) {
    const json got = json::parse(line);
    EXPECT_EQ(got["ids"], golden[n]["ids"]) << "line " << n + 1;
    EXPECT_EQ(got["offsets"], golden[n]["offsets"]) << "line " << n + 1;
    ++n;
  }
  EXPECT_EQ(n, golden.size());
}

TEST_F(TokenizeCli, MaxLengthTruncates) {
  Output r = run("tokenize --vocab '" + maum::testing::shared_path("vocab/en-uncased") + "' --max-length 4",
                    "a b c d e f\n");
  ASSERT_EQ(r.status, 0) << r.out;
  const json got = json::parse(r.out);
  EXPECT_EQ(got["ids"].size(), 4u);
}

TEST_F(TokenizeCli, InvalidUtf8NamesTheLineOrIsReplaced) {
  const std::string vocab = maum::testing::shared_path("vocab/klue-bert-base");
  Output bad = run("tokenize --vocab '" + vocab + "'", "ok\nalso ok\nbad \xFF here\n");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("line 3"), std::string::npos) << bad.out;
  Output replaced = run("tokenize --vocab '" + vocab + "' --invalid-utf8 replace", "ok\nbad \xFF here\n");
  ASSERT_EQ(replaced.status, 0) << replaced.out;
  EXPECT_EQ(std::count(replaced.out.begin(), replaced.out.end(), '\n'), 2);
}

TEST_F(TokenizeCli, NeedsExactlyOneSource) {
  Output r = run("tokenize", "x\n");
  EXPECT_NE(r.status, 0);
}

}  // namespace

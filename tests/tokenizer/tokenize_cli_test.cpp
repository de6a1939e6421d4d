// `maum tokenize` end to end: golden texts in on stdin, the HF golden ids/type_ids/offsets out,
// one JSON line per input line in order; invalid UTF-8 names the line.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/shared_dir.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string cli() {
  const char* env = std::getenv("MAUM_CLI");
  return env && *env ? env : MAUM_CLI_DEFAULT;  // the binary built with this tree
}

struct RunResult {
  int status = -1;
  std::string out;
};

RunResult run(const std::string& args, const std::string& input) {
  const fs::path dir = fs::temp_directory_path() / ("maum_tok_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path in = dir / "in.txt", out = dir / "out.txt", err = dir / "err.txt";
  std::ofstream(in, std::ios::binary) << input;
  const std::string cmd = "'" + cli() + "' " + args + " < '" + in.string() + "' > '" + out.string() +
                          "' 2> '" + err.string() + "'";
  RunResult r;
  r.status = std::system(cmd.c_str());
  std::ifstream o(out, std::ios::binary), e(err, std::ios::binary);
  std::stringstream ss;
  ss << o.rdbuf() << e.rdbuf();
  r.out = ss.str();
  fs::remove_all(dir);
  return r;
}

TEST(TokenizeCli, MatchesGoldenIdsAndOffsets) {
  const std::string vocab = maum::testing::shared_path("vocab/klue-bert-base");
  std::vector<json> golden;
  for (const char* corpus : {"adversarial.jsonl", "corpus_ko7_test.jsonl"}) {
    std::ifstream in(maum::testing::shared_path(std::string("golden/tok/klue-bert-base/") + corpus));
    std::string line;
    for (int i = 0; i < 300 && std::getline(in, line); ++i) golden.push_back(json::parse(line));
  }
  std::string input;
  for (const auto& g : golden) input += g["text"].get<std::string>() + "\n";
  RunResult r = run("tokenize --vocab '" + vocab + "' --threads 2", input);
  ASSERT_EQ(r.status, 0) << r.out;
  std::istringstream lines(r.out);
  std::string line;
  size_t n = 0;
  while (std::getline(lines, line)) {
    ASSERT_LT(n, golden.size()) << "more output lines than inputs";
    const json got = json::parse(line);
    EXPECT_EQ(got["ids"], golden[n]["ids"]) << "line " << n + 1 << ": " << golden[n]["text"];
    EXPECT_EQ(got["type_ids"], golden[n]["type_ids"]) << "line " << n + 1;
    EXPECT_EQ(got["offsets"], golden[n]["offsets"]) << "line " << n + 1;
    ++n;
  }
  EXPECT_EQ(n, golden.size());
}

TEST(TokenizeCli, ModelFileEmbedsTheSameTokenizer) {
  // ko-emotion7-small uses the klue/bert-base vocabulary: the tokenizer embedded by `maum convert`
  // must give the klue-bert-base golden ids.
  const fs::path model = fs::temp_directory_path() / ("maum_tok_cli_model_" + std::to_string(::getpid()) + ".safetensors");
  RunResult conv = run("convert '" + maum::testing::shared_path("models/ko-emotion7-small") + "' '" + model.string() + "'", "");
  ASSERT_EQ(conv.status, 0) << conv.out;
  std::vector<json> golden;
  std::ifstream in(maum::testing::shared_path("golden/tok/klue-bert-base/corpus_ko7_test.jsonl"));
  std::string line, input;
  for (int i = 0; i < 100 && std::getline(in, line); ++i) {
    golden.push_back(json::parse(line));
    input += golden.back()["text"].get<std::string>() + "\n";
  }
  RunResult r = run("tokenize --model '" + model.string() + "'", input);
  fs::remove(model);
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

TEST(TokenizeCli, MaxLengthTruncates) {
  RunResult r = run("tokenize --vocab '" + maum::testing::shared_path("vocab/en-uncased") + "' --max-length 4",
                    "a b c d e f\n");
  ASSERT_EQ(r.status, 0) << r.out;
  const json got = json::parse(r.out);
  EXPECT_EQ(got["ids"].size(), 4u);
}

TEST(TokenizeCli, InvalidUtf8NamesTheLineOrIsReplaced) {
  const std::string vocab = maum::testing::shared_path("vocab/klue-bert-base");
  RunResult bad = run("tokenize --vocab '" + vocab + "'", "ok\nalso ok\nbad \xFF here\n");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.out.find("line 3"), std::string::npos) << bad.out;
  RunResult replaced = run("tokenize --vocab '" + vocab + "' --invalid-utf8 replace", "ok\nbad \xFF here\n");
  ASSERT_EQ(replaced.status, 0) << replaced.out;
  EXPECT_EQ(std::count(replaced.out.begin(), replaced.out.end(), '\n'), 2);
}

TEST(TokenizeCli, NeedsExactlyOneSource) {
  RunResult r = run("tokenize", "x\n");
  EXPECT_NE(r.status, 0);
}

}  // namespace

// `--precision bf16` end to end through the real binary ($MAUM_CLI): classify on the trained
// Korean model against the golden PyTorch fp32 outputs, what --verbose and --version --verbose say,
// bench's report, and the usage errors (bf16 for an int8 model, an unknown precision).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/cli.h"
#include "tests/common/shared_dir.h"

namespace maum {
namespace {

using testing::RunResult;

std::string quote(const std::string& s) { return testing::shell_quote(s); }

class PrecisionCli : public testing::CliSandbox {};

// The first golden rows of the Korean test set whose top logit leads the second by more than 0.1
// (bf16 moves this model's logits by at most 0.01 on the whole set: bf16_accuracy_test).
std::vector<nlohmann::json> clear_golden_cases(size_t count) {
  std::ifstream in(testing::shared_path("golden/model/ko-emotion7-small/corpus_ko7_test.jsonl"));
  std::vector<nlohmann::json> out;
  std::string line;
  while (out.size() < count && std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    auto logits = j.at("logits").get<std::vector<double>>();
    std::sort(logits.rbegin(), logits.rend());
    if (logits[0] - logits[1] > 0.1) out.push_back(std::move(j));
  }
  return out;
}

TEST_F(PrecisionCli, ClassifyBf16AgreesWithFp32AndSaysSo) {
  const auto cases = clear_golden_cases(24);
  ASSERT_EQ(cases.size(), 24u);
  std::string input;
  for (const auto& c : cases) input += c.at("text").get<std::string>() + "\n";
  const std::string m = model("ko-emotion7-small");
  RunResult r = run("classify --verbose --precision bf16 --model " + quote(m), input);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("f32 weights, bf16 linear layers)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("precision bf16 linear layers: "), std::string::npos) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  size_t i = 0;
  double largest = 0;
  std::ifstream config(testing::shared_path("models/ko-emotion7-small/config.json"));
  const auto id2label = nlohmann::json::parse(config).at("id2label");
  for (; std::getline(lines, line) && i < cases.size(); ++i) {
    const auto j = nlohmann::json::parse(line);
    const auto golden = cases[i].at("logits").get<std::vector<double>>();
    const auto logits = j.at("logits").get<std::vector<double>>();
    ASSERT_EQ(logits.size(), golden.size());
    size_t top = 0;
    for (size_t c = 0; c < golden.size(); ++c) {
      largest = std::max(largest, std::fabs(logits[c] - golden[c]));
      if (golden[c] > golden[top]) top = c;
    }
    EXPECT_EQ(j.at("top"), id2label.at(std::to_string(top))) << j.dump();
  }
  EXPECT_EQ(i, cases.size());
  EXPECT_GT(largest, 1e-4) << "the logits are fp32's: bf16 was not used";
  EXPECT_LT(largest, 0.05);

  // fp32 (the default) says nothing of bf16 in its load line.
  r = run("classify --verbose --model " + quote(m) + " " + quote("좋아요"));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("7 labels, f32 weights)"), std::string::npos) << r.err;
}

TEST_F(PrecisionCli, VersionVerboseNamesTheBf16Kernel) {
  RunResult r = run("--version --verbose");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("; precision bf16 linear layers: "), std::string::npos) << r.out;
}

TEST_F(PrecisionCli, BenchReportsThePrecision) {
  RunResult r = run("bench --json --precision bf16 --seq 16 --iters 2 --warmup 1 --model " +
                    quote(model("en-goemotions-electra-small")));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("precision"), "bf16");
  EXPECT_EQ(j.at("weight_type"), "f32");
}

TEST_F(PrecisionCli, Bf16ForAnInt8ModelIsAUsageError) {
  const std::string int8 = model("ko-emotion7-small", "--quantize int8");
  for (const std::string command : {"classify", "bench"}) {
    RunResult r = run(command + " --precision bf16 --model " + quote(int8) + " " +
                      (command == "classify" ? quote("좋아요") : ""));
    EXPECT_EQ(r.status, 2) << command << ": " << r.err;
    EXPECT_EQ(r.err.rfind("maum: error: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(int8), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("int8"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  // int8 at the default precision runs as before.
  RunResult ok = run("classify --model " + quote(int8) + " " + quote("좋아요"));
  EXPECT_EQ(ok.status, 0) << ok.err;
  RunResult bad = run("classify --precision fp16 --model " + quote(model("ko-emotion7-small")) +
                      " " + quote("좋아요"));
  EXPECT_EQ(bad.status, 2) << bad.err;
  EXPECT_NE(bad.err.find("--precision"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace maum

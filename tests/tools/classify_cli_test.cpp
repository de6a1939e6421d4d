// `maum convert` + `maum classify` end to end, through the real binary ($MAUM_CLI): the model card's
// example, multi-label output, stdin streaming in input order, and error reporting.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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

class ClassifyCli : public testing::CliSandbox {
 protected:
  static std::vector<nlohmann::json> json_lines(const std::string& out) {
    std::vector<nlohmann::json> lines;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line)) lines.push_back(nlohmann::json::parse(line));
    return lines;
  }
};

TEST_F(ClassifyCli, KoreanModelCardExample) {
  // MODEL_CARD.md: "정말 기쁜 하루였어요!" -> happiness, p = 0.862 at T = 1.8383.
  const std::string text = "정말 기쁜 하루였어요!";
  RunResult r = run("classify --model " + quote(model("ko-emotion7-small")) + " " + quote(text));
  ASSERT_EQ(r.status, 0) << r.err;
  // UTF-8 is written as is, not \u-escaped.
  EXPECT_NE(r.out.find(text), std::string::npos) << r.out;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  const auto& j = lines[0];
  EXPECT_EQ(j.at("text"), text);
  EXPECT_EQ(j.at("top"), "happiness");
  EXPECT_NEAR(j.at("labels").at("happiness").get<double>(), 0.862, 0.002);
  EXPECT_EQ(j.at("labels").size(), 7u);
  EXPECT_EQ(j.at("logits").size(), 7u);
  EXPECT_FALSE(j.contains("predicted"));  // single-label model
  double sum = 0;
  for (const auto& [label, p] : j.at("labels").items()) sum += p.get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-5);
}

TEST_F(ClassifyCli, MultiLabelHasPredictedAtThreshold) {
  // Expected probabilities from the PyTorch golden outputs (sigmoid of the reference logits).
  std::ifstream golden(
      testing::shared_path("golden/model/en-goemotions-electra-small/corpus_goemotions_test.jsonl"));
  std::vector<nlohmann::json> cases;
  std::string line;
  while (cases.size() < 20 && std::getline(golden, line)) cases.push_back(nlohmann::json::parse(line));
  std::string input;
  for (const auto& c : cases) input += c.at("text").get<std::string>() + "\n";
  const std::string m = model("en-goemotions-electra-small");
  RunResult r = run("classify --threshold 0.3 --model " + quote(m), input);
  ASSERT_EQ(r.status, 0) << r.err;
  auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), cases.size());
  std::ifstream config(testing::shared_path("models/en-goemotions-electra-small/config.json"));
  const auto id2label = nlohmann::json::parse(config).at("id2label");
  size_t with_predictions = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& j = lines[i];
    EXPECT_EQ(j.at("text"), cases[i].at("text"));
    ASSERT_TRUE(j.contains("predicted")) << j.dump();
    std::vector<std::string> expected;
    const auto& probs = cases[i].at("probs");
    for (size_t k = 0; k < probs.size(); ++k) {
      const std::string label = id2label.at(std::to_string(k));
      EXPECT_NEAR(j.at("labels").at(label).get<double>(), probs[k].get<double>(), 1e-4);
      // Skip labels within rounding distance of the threshold.
      if (std::fabs(probs[k].get<double>() - 0.3) < 1e-4) continue;
      if (probs[k].get<double>() >= 0.3) expected.push_back(label);
    }
    std::vector<std::string> predicted = j.at("predicted").get<std::vector<std::string>>();
    EXPECT_EQ(predicted, expected) << "line " << i + 1;
    with_predictions += !predicted.empty();
  }
  EXPECT_GT(with_predictions, 0u);
}

TEST_F(ClassifyCli, StdinLinesInOrderIncludingEmptyAndLong) {
  std::string long_text;
  for (int i = 0; i < 600; ++i) long_text += "아주 긴 문장 ";
  const std::vector<std::string> texts = {"좋아요", "", "정말 화가 난다", long_text, "무서워\r"};
  std::string input;
  for (const auto& t : texts) input += t + "\n";
  const std::string m = model("ko-emotion7-small");
  RunResult batched = run("classify --batch 2 --model " + quote(m), input);
  ASSERT_EQ(batched.status, 0) << batched.err;
  RunResult single = run("classify --batch 1 --threads 1 --model " + quote(m), input);
  ASSERT_EQ(single.status, 0) << single.err;
  auto a = json_lines(batched.out), b = json_lines(single.out);
  ASSERT_EQ(a.size(), texts.size());
  ASSERT_EQ(b.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::string expected = texts[i];
    if (!expected.empty() && expected.back() == '\r') expected.pop_back();  // CRLF input
    EXPECT_EQ(a[i].at("text"), expected);
    for (size_t k = 0; k < 7; ++k)
      // Batch composition only changes float rounding (see tests/engine/model_test.cpp).
      EXPECT_NEAR(a[i].at("logits")[k].get<double>(), b[i].at("logits")[k].get<double>(), 2e-5);
  }
  RunResult short_max = run("classify --max-length 8 --model " + quote(m) + " " + quote(long_text));
  ASSERT_EQ(short_max.status, 0) << short_max.err;
  EXPECT_EQ(json_lines(short_max.out).size(), 1u);
}

TEST_F(ClassifyCli, InvalidUtf8LineIsNamed) {
  RunResult r = run("classify --model " + quote(model("ko-emotion7-small")),
                    "fine\nalso fine\nbroken \xC3\x28 text\nafter\n");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("line 3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--invalid-utf8 replace"), std::string::npos) << r.err;
  // The lines before the bad one still get their results (no data lost before the error).
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["text"], "fine");
  EXPECT_EQ(lines[1]["text"], "also fine");
}

TEST_F(ClassifyCli, InvalidUtf8ReplacedOnRequest) {
  // Python's errors="replace": 0xC3 starts a 2-byte sequence that 0x28 does not continue, so the
  // maximal invalid subsequence is the single byte 0xC3 -> one U+FFFD, and '(' stays.
  RunResult r = run("classify --invalid-utf8 replace --model " + quote(model("ko-emotion7-small")),
                    "fine\nbroken \xC3\x28 text\n\xFF\xFE\n");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1]["text"], "broken \xEF\xBF\xBD( text");
  EXPECT_EQ(lines[2]["text"], "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_F(ClassifyCli, UsageErrorsAreOneLineWithStatus2) {
  for (const std::string args : {"classify --batch 0 --model m.safetensors x", "classify x",
                                 "no-such-command"}) {
    RunResult r = run(args);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_EQ(r.err.rfind("maum: error: ", 0), 0u) << args << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << ": " << r.err;
    EXPECT_LT(r.err.size(), 200u) << r.err;
  }
}

TEST_F(ClassifyCli, PolicyTemperatureAppliesToLabelsAndAnalysisAlike) {
  const std::string policy = dir_ + "/t.json";
  std::ofstream(policy) << R"({"temperature": 1.232})";
  RunResult r = run("classify --policy " + quote(policy) + " --model " +
                    quote(model("ko-emotion7-small")) + " " + quote("정말 기쁜 하루였어요!"));
  ASSERT_EQ(r.status, 0) << r.err;
  // ordered_json: "labels" in the model's label order, which is the order of "logits".
  const auto j = nlohmann::ordered_json::parse(r.out.substr(0, r.out.find('\n')));
  // softmax(logits / 1.232), computed here from the printed logits.
  std::vector<double> logits = j["logits"].get<std::vector<double>>();
  double max = -1e300, sum = 0;
  for (double z : logits) max = std::max(max, z / 1.232);
  for (double z : logits) sum += std::exp(z / 1.232 - max);
  size_t i = 0;
  for (auto it = j["labels"].begin(); it != j["labels"].end(); ++it, ++i) {
    const double expected = std::exp(logits[i] / 1.232 - max) / sum;
    EXPECT_NEAR(it.value().get<double>(), expected, 1e-6) << it.key();
    EXPECT_NEAR(j["analysis"]["labels"][it.key()].get<double>(), expected, 1e-6) << it.key();
  }
}

TEST_F(ClassifyCli, OverflowingJsonNumberIsAnErrorNamingTheFile) {
  const std::string policy = dir_ + "/overflow.json";
  std::ofstream(policy) << R"({"temperature": 1e400})";
  RunResult r = run("classify --policy " + quote(policy) + " --model " +
                    quote(model("ko-emotion7-small")) + " x");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.err.find("overflow.json"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
}

TEST_F(ClassifyCli, VerboseReportsLoadTime) {
  RunResult r = run("classify --verbose --model " + quote(model("ko-emotion7-small")) + " hello");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("loaded"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(" ms"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("isa"), std::string::npos) << r.err;
}

TEST_F(ClassifyCli, MissingModelIsAnError) {
  RunResult r = run("classify --model " + quote(dir_ + "/absent.safetensors") + " hello");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("absent.safetensors"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
}

}  // namespace
}  // namespace maum

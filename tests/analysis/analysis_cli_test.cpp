// `maum eval`, `maum calibrate` and classify's analysis options end to end, through the real
// binary ($MAUM_CLI) on the shared checkpoints. Expected figures come from each MODEL_CARD.md and
// calibration.json, not from our engine.
#include <cmath>
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

class AnalysisCli : public testing::CliSandbox {
 protected:
  static std::string example(const std::string& name) {
    return std::string(MAUM_SOURCE_DIR) + "/analysis/examples/" + name;
  }
  static std::string ko_eval_args(const std::string& model_path, const std::string& fold) {
    return "--model " + quote(model_path) + " --data " +
           quote(testing::shared_path("data/ko_single7/all.tsv")) + " --fold " + fold +
           " --label-names " + quote(example("ko_single7_label_names.json"));
  }
};

TEST_F(AnalysisCli, EvalKoreanTestFoldReproducesModelCard) {
  const std::string svg = dir_ + "/ko.svg";
  RunResult r = run("eval " + ko_eval_args(model("ko-emotion7-small"), "9") + " --json --reliability " +
                    quote(svg));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // MODEL_CARD.md (test): accuracy 0.4570, macro-F1 0.4490, NLL 1.4311 at T = 1.8383.
  EXPECT_EQ(j.at("samples"), 3908);
  EXPECT_NEAR(j.at("report").at("accuracy").get<double>(), 0.4570, 0.002);
  EXPECT_NEAR(j.at("report").at("macro").at("f1").get<double>(), 0.4490, 0.002);
  EXPECT_NEAR(j.at("nll").get<double>(), 1.4311, 0.002);
  // The confusion matrix's rows add up to each label's support.
  const auto& confusion = j.at("report").at("confusion");
  size_t row0 = 0;
  for (const auto& v : confusion[0]) row0 += v.get<size_t>();
  EXPECT_EQ(row0, j.at("report").at("per_label").at("fear").at("support").get<size_t>());
  EXPECT_GT(j.at("ece").get<double>(), 0.0);
  EXPECT_EQ(j.at("reliability").size(), 15u);
  EXPECT_EQ(testing::read_file(svg).rfind("<svg", 0), 0u);
  // Progress bar on stderr.
  EXPECT_NE(r.err.find("3908/3908"), std::string::npos);
}

TEST_F(AnalysisCli, EvalGoEmotionsMultiLabelAtThreshold03) {
  RunResult r = run("eval --model " + quote(model("en-goemotions-electra-small")) + " --data " +
                    quote(testing::shared_path("data/goemotions/original/test.tsv")) +
                    " --no-header --text-col 0 --label-col 1 --threshold 0.3 --json -q");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  // MODEL_CARD.md (test, threshold 0.3): macro-F1 0.3714, micro-F1 0.5384.
  EXPECT_EQ(j.at("samples"), 5427);
  EXPECT_NEAR(j.at("report").at("macro").at("f1").get<double>(), 0.3714, 0.002);
  EXPECT_NEAR(j.at("report").at("micro").at("f1").get<double>(), 0.5384, 0.002);
  EXPECT_TRUE(j.at("report").contains("subset_accuracy"));
  EXPECT_TRUE(r.err.empty()) << r.err;  // -q: no progress bar
}

TEST_F(AnalysisCli, CalibrateOnDevFoldFindsTheCardsTemperature) {
  const auto expected = nlohmann::json::parse(
      testing::read_file(testing::shared_path("models/ko-emotion7-small/calibration.json")))["temperature"]
                            .get<double>();
  const std::string out = dir_ + "/ko-calibrated.safetensors";
  RunResult r = run("calibrate " + ko_eval_args(model("ko-emotion7-small"), "8") + " --json -q --out " +
                    quote(out));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const double t = j.at("temperature").get<double>();
  EXPECT_NEAR(t, expected, 0.02);
  // MODEL_CARD.md (dev): NLL 1.6072 at T = 1; the fitted T lowers NLL and ECE.
  const auto& results = j.at("results");
  EXPECT_NEAR(results.front().at("nll").get<double>(), 1.6072, 0.002);
  EXPECT_LT(results.back().at("nll").get<double>(), results.front().at("nll").get<double>());
  EXPECT_LT(results.back().at("ece").get<double>(), results.front().at("ece").get<double>());
  // The written model carries the temperature: eval on it reports it.
  r = run("eval " + ko_eval_args(out, "9") + " --json -q");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NEAR(nlohmann::json::parse(r.out).at("temperature").get<double>(), t, 1e-9);
}

TEST_F(AnalysisCli, EvalErrorsNameTheProblem) {
  // Korean labels without --label-names: the unknown label is named with its line.
  RunResult r = run("eval --model " + quote(model("ko-emotion7-small")) + " --data " +
                    quote(testing::shared_path("data/ko_single7/all.tsv")) + " --fold 9 -q");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("unknown label"), std::string::npos) << r.err;
  r = run("eval " + ko_eval_args(model("ko-emotion7-small"), "9") + " --where fold -q");
  EXPECT_EQ(r.status, 2);  // a usage error
  EXPECT_NE(r.err.find("COLUMN=VALUE"), std::string::npos) << r.err;
  r = run("eval " + ko_eval_args(model("ko-emotion7-small"), "42") + " -q");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no rows"), std::string::npos) << r.err;
  // A text that is not UTF-8: named by file and line (line 3: the header is line 1).
  const std::string tsv = dir_ + "/bad_utf8.tsv";
  std::ofstream(tsv, std::ios::binary) << "text\tlabel\nfine\thappiness\nbroken \xFF\thappiness\n";
  r = run("eval --model " + quote(model("ko-emotion7-small")) + " --data " + quote(tsv) +
          " --text-col text --label-col label -q");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("bad_utf8.tsv:3"), std::string::npos) << r.err;
}

TEST_F(AnalysisCli, ClassifyWithPolicyRemapAndSentences) {
  const std::string ko = model("ko-emotion7-small");
  // The seed policy (T = 1.232, fallback below 0.3).
  RunResult r = run("classify --model " + quote(ko) + " --policy " +
                    quote(example("seed_policy.json")) + " " + quote("정말 기쁜 하루였어요!"));
  ASSERT_EQ(r.status, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  const auto& a = j.at("analysis");
  EXPECT_EQ(a.at("dominant"), "happiness");
  // The analysis recomputes softmax(logits / 1.232) from the reported logits.
  const auto logits = j.at("logits").get<std::vector<double>>();
  double sum = 0;
  for (double z : logits) sum += std::exp(z / 1.232);
  EXPECT_NEAR(a.at("confidence").get<double>(), std::exp(logits[5] / 1.232) / sum, 1e-6);
  EXPECT_LE(a.at("normalized_entropy").get<double>(), 1.0);

  // Two sentences, remapped to the 6 Korean labels; summary percentages add up to 100.
  r = run("classify --model " + quote(ko) + " --split sentences --remap " +
              quote(example("ko7_to_ko6.json")),
          "오늘 정말 행복했어요. 그런데 저녁에 친구랑 싸워서 너무 화가 났다!\n");
  ASSERT_EQ(r.status, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.at("sentences").size(), 2u);
  EXPECT_EQ(j.at("sentences")[0].at("text"), "오늘 정말 행복했어요.");
  EXPECT_EQ(j.at("sentences")[0].at("analysis").at("labels").size(), 6u);
  double percent = 0;
  for (const auto& [label, v] : j.at("summary").at("percent").items()) percent += v.get<double>();
  EXPECT_NEAR(percent, 100.0, 1e-9);

  // Fusion with an audio vector: 기쁨 = 0.7 (p_happiness + 0.1667 p_neutral) + 0.3 * 0.9, from the
  // model probabilities reported in the same line (the example maps neutral evenly).
  std::ofstream(dir_ + "/audio.jsonl") << R"({"audio": {"HAPPY": 0.9, "SAD": 0.1}})" << "\n";
  r = run("classify --model " + quote(ko) + " " + quote("정말 기쁜 하루였어요!"));
  ASSERT_EQ(r.status, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  const double happiness = j.at("labels").at("happiness").get<double>();
  const double neutral = j.at("labels").at("neutral").get<double>();
  r = run("classify --model " + quote(ko) + " --fuse " + quote(example("text_audio_fusion.json")) +
          " --fuse-inputs " + quote(dir_ + "/audio.jsonl") + " " + quote("정말 기쁜 하루였어요!"));
  ASSERT_EQ(r.status, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j.at("analysis").at("labels").at("기쁨").get<double>(),
              0.7 * (happiness + 0.1667 * neutral) + 0.3 * 0.9, 1e-6);
  r = run("classify --model " + quote(ko) + " --fuse " + quote(example("text_audio_fusion.json")) +
          " --fuse-inputs " + quote(dir_ + "/audio.jsonl") + " one two");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("1 lines for 2 texts"), std::string::npos) << r.err;

  // A bad remap is a clear error.
  std::ofstream(dir_ + "/bad_map.json") << R"({"map": {"fear": {"A": 0.5, "B": 0.6}}})";
  r = run("classify --model " + quote(ko) + " --remap " + quote(dir_ + "/bad_map.json") + " hi");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("sum to 1.1"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace maum

// The metrics on the PyTorch reference outputs (../shared/golden/model, independent of our engine)
// must reproduce each MODEL_CARD.md's test figures.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "maum/analysis.h"
#include "maum/metrics.h"
#include "tests/common/shared_dir.h"

namespace maum {
namespace {

struct Golden {
  std::vector<std::string> texts;
  std::vector<std::vector<float>> logits;
  std::vector<std::vector<double>> probs;
};

Golden read_golden(const std::string& path) {
  Golden g;
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::string line;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    g.texts.push_back(j["text"].get<std::string>());
    g.logits.push_back(j["logits"].get<std::vector<float>>());
    g.probs.push_back(j["probs"].get<std::vector<double>>());
  }
  return g;
}

const std::vector<std::string> kKoLabels = {"fear",    "surprise",  "anger",  "sadness",
                                            "neutral", "happiness", "disgust"};

TEST(GoldenMetrics, KoEmotion7TestFoldMatchesModelCard) {
  const Golden g = read_golden(
      testing::shared_path("golden/model/ko-emotion7-small/corpus_ko7_test.jsonl"));
  TsvOptions o;
  o.where["fold"] = "9";
  o.label_names = {{"공포", "fear"},    {"놀람", "surprise"},  {"분노", "anger"},
                   {"슬픔", "sadness"}, {"중립", "neutral"}, {"행복", "happiness"},
                   {"혐오", "disgust"}};
  const LabelledData d =
      read_labelled_tsv(testing::shared_path("data/ko_single7/all.tsv"), o, kKoLabels);
  ASSERT_EQ(d.texts.size(), 3908u);
  ASSERT_EQ(g.texts.size(), d.texts.size());
  std::vector<size_t> truth, predicted;
  std::vector<double> confidence;
  std::vector<bool> correct;
  for (size_t i = 0; i < d.texts.size(); ++i) {
    ASSERT_EQ(g.texts[i], d.texts[i]) << "golden and data disagree at test row " << i;
    const Analysis a = analyze(g.probs[i], kKoLabels);
    truth.push_back(d.labels[i][0]);
    predicted.push_back(a.dominant);
    confidence.push_back(a.confidence);
    correct.push_back(a.dominant == d.labels[i][0]);
  }
  const ClassificationReport r = single_label_report(truth, predicted, kKoLabels);
  // MODEL_CARD.md: test accuracy 0.4570 (golden reproduces it exactly: 0.45701), macro-F1 0.4490.
  EXPECT_NEAR(r.accuracy, 0.45701, 0.00001);
  EXPECT_NEAR(r.macro.f1, 0.4490, 0.00005);
  // NLL at T = 1 and at the card's calibrated T: 1.6256 and 1.4311.
  EXPECT_NEAR(mean_nll(g.logits, truth, 1.0), 1.6256, 0.00005);
  EXPECT_NEAR(mean_nll(g.logits, truth, 1.838303804397583), 1.4311, 0.00005);
  // Temperature scaling lowers the calibration error of this over-confident model.
  std::vector<double> calibrated_conf;
  for (const auto& z : g.logits) {
    const auto p = softmax(z, 1.838303804397583);
    calibrated_conf.push_back(*std::max_element(p.begin(), p.end()));
  }
  EXPECT_LT(calibration(calibrated_conf, correct).ece, calibration(confidence, correct).ece);
}

TEST(GoldenMetrics, GoEmotionsTestMatchesModelCardAtThreshold03) {
  const Golden g = read_golden(
      testing::shared_path("golden/model/en-goemotions-electra-small/corpus_goemotions_test.jsonl"));
  std::vector<std::string> labels;
  {
    std::ifstream in(testing::shared_path("data/goemotions/original/labels.txt"));
    std::string l;
    while (std::getline(in, l))
      if (!l.empty()) labels.push_back(l);
  }
  ASSERT_EQ(labels.size(), 28u);
  TsvOptions o;
  o.multi_label = true;
  o.header = false;
  o.text_column = "0";
  o.label_column = "1";
  const LabelledData d =
      read_labelled_tsv(testing::shared_path("data/goemotions/original/test.tsv"), o, labels);
  ASSERT_EQ(d.texts.size(), 5427u);
  ASSERT_EQ(g.texts.size(), d.texts.size());
  const Policy policy = Policy::from_json(R"({"threshold": 0.3})", "test");
  std::vector<std::vector<size_t>> predicted;
  for (size_t i = 0; i < g.probs.size(); ++i)
    predicted.push_back(analyze(g.probs[i], labels, policy, true).predicted);
  const ClassificationReport r = multi_label_report(d.labels, predicted, labels);
  // MODEL_CARD.md: test macro-F1 0.3714 (golden: 0.37145), micro-F1 0.5384 at threshold 0.3.
  EXPECT_NEAR(r.macro.f1, 0.37145, 0.00005);
  EXPECT_NEAR(r.micro.f1, 0.5384, 0.00005);
}

}  // namespace
}  // namespace maum

// int8 vs fp32 on the real shared checkpoints: both converted from the same Hugging Face folder,
// both classify the labelled test sets, and the int8 model must agree with the fp32 one on top-1
// for >= 99% of the texts and stay within 0.5 points of its accuracy and macro-F1. Twice: int8
// weights in [-127, 127], and 7-bit ones (`--reduce-range`, [-63, 63]).
//  - ko-emotion7-small on ko_single7 fold 9 (3,908 sentences; 7 labels, single-label).
//  - en-goemotions-electra-small on GoEmotions original test (5,427; 28 labels, multi-label at
//    threshold 0.3, the model card's decision rule).
// The fp32 figures are also checked against the model cards (test accuracy 0.4570 / macro-F1
// 0.4490; GoEmotions macro-F1 0.3714), which PyTorch reproduces exactly.
#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "maum/model.h"
#include "tests/common/shared_dir.h"
#include "tests/engine/kernels/accuracy_data.h"
#include "tests/engine/test_models.h"

namespace maum {
namespace {

struct Scores {
  std::vector<int> top;
  std::vector<std::vector<int>> predicted;
};

Scores run(const Model& model, const std::vector<Example>& data, const ClassifyOptions& options) {
  std::vector<std::string> texts;
  for (const auto& e : data) texts.push_back(e.text);
  const auto results = model.classify(texts, options);
  Scores s;
  for (const auto& r : results) {
    s.top.push_back(r.top);
    s.predicted.push_back(model.info().multi_label() ? r.predicted : std::vector<int>{r.top});
  }
  return s;
}

class Int8Accuracy : public ::testing::TestWithParam<const char*> {};

TEST_P(Int8Accuracy, KoEmotion7OnKoSingle7Test) {
  const Model f32 = Model::load(testing::converted_model("ko-emotion7-small"));
  const Model i8 = Model::load(testing::converted_model("ko-emotion7-small", GetParam()));
  ASSERT_EQ(i8.info().weight_type, "int8");
  const auto data = load_ko_test(f32.info().labels);
  ASSERT_EQ(data.size(), 3908u);
  const Scores a = run(f32, data, {}), b = run(i8, data, {});
  size_t agree = 0, correct_a = 0, correct_b = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    agree += a.top[i] == b.top[i];
    correct_a += a.top[i] == data[i].labels[0];
    correct_b += b.top[i] == data[i].labels[0];
  }
  const double n = static_cast<double>(data.size());
  const double acc_a = correct_a / n, acc_b = correct_b / n;
  const double f1_a = macro_f1(a.predicted, data, 7), f1_b = macro_f1(b.predicted, data, 7);
  RecordProperty("top1_agreement", std::to_string(agree / n));
  std::printf("ko-emotion7-small %s: top-1 agreement %.4f; accuracy fp32 %.4f int8 %.4f; macro-F1 fp32 %.4f int8 %.4f\n",
              GetParam(), agree / n, acc_a, acc_b, f1_a, f1_b);
  EXPECT_NEAR(acc_a, 0.4570, 0.002) << "fp32 accuracy differs from the model card";
  EXPECT_NEAR(f1_a, 0.4490, 0.002) << "fp32 macro-F1 differs from the model card";
  EXPECT_GE(agree / n, 0.99);
  EXPECT_NEAR(acc_b, acc_a, 0.005);
  EXPECT_NEAR(f1_b, f1_a, 0.005);
}

TEST_P(Int8Accuracy, GoEmotionsElectraOnGoEmotionsTest) {
  const Model f32 = Model::load(testing::converted_model("en-goemotions-electra-small"));
  const Model i8 = Model::load(testing::converted_model("en-goemotions-electra-small", GetParam()));
  ASSERT_EQ(i8.info().weight_type, "int8");
  ASSERT_TRUE(f32.info().multi_label());
  const auto data = load_goemotions_test();
  ASSERT_EQ(data.size(), 5427u);
  ClassifyOptions options;
  options.threshold = 0.3f;
  options.max_length = 128;
  const Scores a = run(f32, data, options), b = run(i8, data, options);
  size_t agree = 0, top_in_truth_a = 0, top_in_truth_b = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    agree += a.top[i] == b.top[i];
    const auto& t = data[i].labels;
    top_in_truth_a += std::count(t.begin(), t.end(), a.top[i]) > 0;
    top_in_truth_b += std::count(t.begin(), t.end(), b.top[i]) > 0;
  }
  const double n = static_cast<double>(data.size());
  const size_t labels = f32.info().labels.size();
  const double f1_a = macro_f1(a.predicted, data, labels), f1_b = macro_f1(b.predicted, data, labels);
  std::printf("goemotions-electra-small %s: top-1 agreement %.4f; top-1 in gold fp32 %.4f int8 %.4f; macro-F1@0.3 fp32 %.4f int8 %.4f\n",
              GetParam(), agree / n, top_in_truth_a / n, top_in_truth_b / n, f1_a, f1_b);
  EXPECT_NEAR(f1_a, 0.3714, 0.003) << "fp32 macro-F1 differs from the model card";
  EXPECT_GE(agree / n, 0.99);
  EXPECT_NEAR(top_in_truth_b / n, top_in_truth_a / n, 0.005);
  EXPECT_NEAR(f1_b, f1_a, 0.005);
}

INSTANTIATE_TEST_SUITE_P(Weights, Int8Accuracy, ::testing::Values("int8", "int8-7bit"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           return std::string(p.param) == "int8" ? "Int8" : "SevenBit";
                         });

}  // namespace
}  // namespace maum

// AnalysisPipeline (temperature -> probabilities -> remap -> fusion -> policy) and the policy stored
// in a model file, with hand-computed expectations.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/src/safetensors.h"
#include "maum/analysis.h"
#include "maum/error.h"

namespace maum {
namespace {

TEST(Pipeline, TemperatureRemapFusionPolicy) {
  const std::vector<std::string> labels = {"a", "b", "c"};
  // Logits (0, ln 3, ln 3) at the model's T = 1: p = (1/7, 3/7, 3/7).
  const float l3 = static_cast<float>(std::log(3.0));
  AnalysisPipeline plain(labels, false, 1.0, Policy{});
  Analysis r = plain.run({0.0f, l3, l3});
  EXPECT_NEAR(r.probs[0], 1.0 / 7, 1e-7);
  EXPECT_EQ(r.dominant, 1u);  // first of the tied top two
  EXPECT_NEAR(r.margin, 0.0, 1e-7);
  // The policy's temperature wins over the model's: T = 2 -> (1, sqrt 3, sqrt 3) / (1 + 2 sqrt 3).
  AnalysisPipeline hot(labels, false, 5.0, Policy::from_json(R"({"temperature": 2})", "p"));
  EXPECT_DOUBLE_EQ(hot.temperature(), 2.0);
  EXPECT_NEAR(hot.run({0.0f, l3, l3}).probs[0], 1 / (1 + 2 * std::sqrt(3.0)), 1e-7);
  // Remap a -> X, b and c -> Y; fuse with an input "s" (labels X, Y) at 0.5/0.5.
  LabelMap remap = LabelMap::from_json(R"({"map": {"a": "X", "b": "Y", "c": "Y"}})", labels, "m");
  Fusion fusion = Fusion::from_json(
      R"({"target": ["X", "Y"], "model": {"weight": 0.5},
          "inputs": {"s": {"weight": 0.5, "labels": ["X", "Y"]}}})",
      remap.target(), "f");
  AnalysisPipeline full(labels, false, 1.0,
                        Policy::from_json(R"({"min_confidence": 0.9, "fallback_label": "none"})", "p"),
                        remap, fusion);
  EXPECT_EQ(full.output_labels(), (std::vector<std::string>{"X", "Y"}));
  // X = 0.5 * 1/7 + 0.5 * 1 = 4/7; Y = 0.5 * 6/7 = 3/7; confidence 4/7 < 0.9 -> fallback.
  r = full.run({0.0f, l3, l3}, {{"s", {1.0, 0.0}}});
  EXPECT_NEAR(r.probs[0], 4.0 / 7, 1e-7);
  EXPECT_NEAR(r.probs[1], 3.0 / 7, 1e-7);
  EXPECT_EQ(r.label, "none");
  EXPECT_TRUE(r.fallback);
  EXPECT_THROW(full.run({0.0f, 1.0f}), InvalidArgument);
  // Thresholds must name output labels.
  EXPECT_THROW(AnalysisPipeline(labels, true, 1.0,
                                Policy::from_json(R"({"thresholds": {"a": 0.1}})", "p"), remap),
               InvalidArgument);
}

TEST(ModelFilePolicy, WriteKeepsTensorsAndSetsTemperature) {
  const std::string path =
      (std::filesystem::temp_directory_path() /
       ("maum-policy-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
        ".safetensors"))
          .string();
  const std::vector<float> weights = {1.5f, -2.0f, 3.25f, 0.0f};
  {
    core::SafetensorsWriter w;
    w.set_metadata("maum.format_version", "1");
    w.set_metadata("maum.config", R"({"labels": ["a", "b"], "temperature": 1.0})");
    w.add("head.out.weight", core::DType::F32, {2, 2}, weights.data(), sizeof(float) * 4);
    w.write(path);
  }
  EXPECT_FALSE(read_model_policy(path).has_value());
  Policy p = Policy::from_json(R"({"temperature": 1.84, "top_k": 2})", "p");
  write_model_policy(path, p, path);  // in place
  const auto policy = read_model_policy(path);
  ASSERT_TRUE(policy.has_value());
  EXPECT_DOUBLE_EQ(*policy->temperature, 1.84);
  EXPECT_EQ(policy->top_k, 2u);
  const auto file = core::SafetensorsFile::open(path);
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(file->meta("maum.config"))["temperature"].get<double>(),
                   1.84);
  EXPECT_EQ(file->meta("maum.format_version"), "1");
  const auto& t = file->get("head.out.weight", core::DType::F32, {2, 2});
  EXPECT_EQ(std::memcmp(t.data, weights.data(), sizeof(float) * 4), 0);
  std::remove(path.c_str());
  EXPECT_THROW(read_model_policy(path), Error);
}

}  // namespace
}  // namespace maum

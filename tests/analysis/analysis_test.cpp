// Unit tests of maum/analysis.h with expected values computed by hand (stated next to each check).
#include <cmath>

#include <gtest/gtest.h>

#include "maum/analysis.h"
#include "maum/error.h"

namespace maum {
namespace {

TEST(Probabilities, SoftmaxWithTemperature) {
  // softmax(0, ln 3) = (1/4, 3/4); at T = 2: (1, sqrt 3) / (1 + sqrt 3).
  const std::vector<float> z = {0.0f, static_cast<float>(std::log(3.0))};
  auto p = softmax(z, 1.0);
  EXPECT_NEAR(p[0], 0.25, 1e-7);
  EXPECT_NEAR(p[1], 0.75, 1e-7);
  p = softmax(z, 2.0);
  EXPECT_NEAR(p[0], 1 / (1 + std::sqrt(3.0)), 1e-7);
  EXPECT_NEAR(p[1], std::sqrt(3.0) / (1 + std::sqrt(3.0)), 1e-7);
  // Large logits stay finite.
  p = softmax({1000.0f, 0.0f}, 1.0);
  EXPECT_NEAR(p[0], 1.0, 1e-12);
  EXPECT_THROW(softmax(z, 0.0), InvalidArgument);
  EXPECT_THROW(softmax(z, -1.0), InvalidArgument);
}

TEST(Probabilities, Sigmoid) {
  auto p = sigmoid({0.0f, static_cast<float>(std::log(3.0)), -1000.0f}, 1.0);
  EXPECT_NEAR(p[0], 0.5, 1e-12);
  EXPECT_NEAR(p[1], 0.75, 1e-7);
  EXPECT_NEAR(p[2], 0.0, 1e-12);
}

TEST(Probabilities, EntropyInNats) {
  EXPECT_NEAR(entropy_nats({0.5, 0.5}), std::log(2.0), 1e-12);
  EXPECT_NEAR(entropy_nats({1.0, 0.0, 0.0}), 0.0, 1e-12);
  // The largest entropy over 7 labels is ln 7 = 1.9459 nats: a 2.8-nat threshold never fires.
  const std::vector<double> uniform7(7, 1.0 / 7);
  EXPECT_NEAR(entropy_nats(uniform7), 1.945910149, 1e-8);
  EXPECT_LT(entropy_nats(uniform7), 2.8);
}

TEST(Analyze, StatisticsAndPolicy) {
  const std::vector<std::string> labels = {"a", "b", "c"};
  const std::vector<double> p = {0.2, 0.5, 0.3};
  Analysis a = analyze(p, labels);
  EXPECT_EQ(a.dominant, 1u);
  EXPECT_EQ(a.label, "b");
  EXPECT_DOUBLE_EQ(a.confidence, 0.5);
  EXPECT_NEAR(a.margin, 0.2, 1e-12);
  const double h = -(0.2 * std::log(0.2) + 0.5 * std::log(0.5) + 0.3 * std::log(0.3));  // 1.0297
  EXPECT_NEAR(a.entropy, h, 1e-12);
  EXPECT_NEAR(a.normalized_entropy, h / std::log(3.0), 1e-12);
  EXPECT_FALSE(a.fallback);
  EXPECT_TRUE(a.flags.empty());
  EXPECT_EQ(a.top, (std::vector<size_t>{1, 2, 0}));

  Policy policy = Policy::from_json(
      R"({"min_confidence": 0.6, "fallback_label": "neutral", "max_entropy": 0.9, "top_k": 2})",
      "test");
  a = analyze(p, labels, policy);
  EXPECT_EQ(a.label, "neutral");
  EXPECT_TRUE(a.fallback);
  EXPECT_EQ(a.dominant, 1u);
  ASSERT_EQ(a.flags.size(), 1u);  // 1.0297 / ln 3 = 0.937 > 0.9
  EXPECT_EQ(a.flags[0], "complex_emotion");
  EXPECT_EQ(a.top, (std::vector<size_t>{1, 2}));

  // Exactly at min_confidence: no fallback (the seed falls back on confidence < 0.3).
  policy = Policy::from_json(R"({"min_confidence": 0.5, "fallback_label": "neutral"})", "test");
  EXPECT_FALSE(analyze(p, labels, policy).fallback);
}

TEST(Analyze, MultiLabelThresholds) {
  const std::vector<std::string> labels = {"joy", "anger", "fear"};
  Policy policy =
      Policy::from_json(R"({"threshold": 0.3, "thresholds": {"fear": 0.05}})", "test");
  policy.check_labels(labels, "test");
  Analysis a = analyze({0.31, 0.29, 0.06}, labels, policy, true);
  EXPECT_EQ(a.predicted, (std::vector<size_t>{0, 2}));
  // Mean binary entropy: p = 0.5 everywhere is ln 2 per label, normalized 1.
  a = analyze({0.5, 0.5, 0.5}, labels, policy, true);
  EXPECT_NEAR(a.entropy, std::log(2.0), 1e-12);
  EXPECT_NEAR(a.normalized_entropy, 1.0, 1e-12);
  EXPECT_THROW(Policy::from_json(R"({"thresholds": {"nope": 0.2}})", "t").check_labels(labels, "t"),
               InvalidArgument);
}

TEST(PolicyJson, ValidatesAndRoundTrips) {
  const Policy p = Policy::from_json(
      R"({"temperature": 1.232, "min_confidence": 0.3, "fallback_label": "neutral",
          "max_entropy": 0.8, "entropy_flag": "complex", "threshold": 0.4,
          "thresholds": {"x": 0.1}, "top_k": 3})",
      "test");
  EXPECT_DOUBLE_EQ(*p.temperature, 1.232);
  const Policy q = Policy::from_json(p.to_json(), "roundtrip");
  EXPECT_DOUBLE_EQ(*q.temperature, 1.232);
  EXPECT_DOUBLE_EQ(q.min_confidence, 0.3);
  EXPECT_EQ(q.fallback_label, "neutral");
  EXPECT_DOUBLE_EQ(*q.max_normalized_entropy, 0.8);  // "max_entropy" is the normalized one
  EXPECT_FALSE(q.max_entropy_nats);
  EXPECT_EQ(q.entropy_flag, "complex");
  EXPECT_DOUBLE_EQ(q.threshold, 0.4);
  EXPECT_DOUBLE_EQ(q.thresholds.at("x"), 0.1);
  EXPECT_EQ(q.top_k, 3u);

  auto error_of = [](const std::string& json) {
    try {
      Policy::from_json(json, "policy.json");
    } catch (const FormatError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of(R"({"temprature": 1.2})").find("\"temprature\""), std::string::npos);
  EXPECT_NE(error_of(R"({"min_confidence": 1.5, "fallback_label": "n"})").find("min_confidence"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"min_confidence": 0.3})").find("fallback_label"), std::string::npos);
  EXPECT_NE(error_of(R"({"temperature": 0})").find("temperature"), std::string::npos);
  EXPECT_NE(error_of(R"({"temperature": "1"})").find("temperature"), std::string::npos);
  EXPECT_NE(error_of(R"({"max_entropy": 2.8})").find("max_entropy"), std::string::npos);
  EXPECT_NE(error_of(R"({"max_normalized_entropy": 1.5})").find("max_normalized_entropy"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"max_entropy_nats": -1})").find("max_entropy_nats"), std::string::npos);
  EXPECT_NE(error_of(R"({"max_entropy": 0.5, "max_normalized_entropy": 0.5})")
                .find("not both"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"top_k": -1})").find("top_k"), std::string::npos);
  EXPECT_NE(error_of("[1, 2").find("malformed JSON"), std::string::npos);
  EXPECT_NE(error_of("[]").find("object"), std::string::npos);
  EXPECT_THROW(Policy::load("/nonexistent/policy.json"), IoError);
}

TEST(PolicyJson, ValenceMap) {
  const Policy p = Policy::from_json(
      R"({"valence": {"happy": 1, "sad": -1, "meh": 0}, "min_confidence": 0.4, "fallback_label": "meh"})",
      "test");
  EXPECT_DOUBLE_EQ(Policy::from_json(p.to_json(), "roundtrip").valence.at("sad"), -1.0);
  EXPECT_NO_THROW(p.check_labels({"happy", "sad"}, "t"));  // "meh" is the fallback label
  EXPECT_THROW(Policy::from_json(R"({"valence": {"x": 1}})", "t").check_labels({"happy"}, "t"),
               InvalidArgument);
  EXPECT_THROW(Policy::from_json(R"({"valence": {"happy": 1.5}})", "t"), FormatError);
  EXPECT_THROW(Policy::from_json(R"({"valence": [1, -1]})", "t"), FormatError);
  EXPECT_THROW(Policy::from_json(R"({"valence": {"happy": "+"}})", "t"), FormatError);
}

TEST(LabelMapTest, ManyToOneAndWeighted) {
  // a -> X; b -> half X, half Y; c -> Y. p = (0.2, 0.4, 0.4): X = 0.2 + 0.2, Y = 0.2 + 0.4.
  const LabelMap m = LabelMap::from_json(
      R"({"target": ["X", "Y"], "map": {"a": "X", "b": {"X": 0.5, "Y": 0.5}, "c": "Y"}})",
      {"a", "b", "c"}, "map.json");
  const auto q = m.apply({0.2, 0.4, 0.4});
  ASSERT_EQ(q.size(), 2u);
  EXPECT_NEAR(q[0], 0.4, 1e-12);
  EXPECT_NEAR(q[1], 0.6, 1e-12);
  // Multi-label scores: max of weighted sources. X = max(0.2, 0.5 * 0.4), Y = max(0.2, 0.4).
  const auto r = m.apply({0.2, 0.4, 0.4}, true);
  EXPECT_NEAR(r[0], 0.2, 1e-12);
  EXPECT_NEAR(r[1], 0.4, 1e-12);
  // Target collected from the map when not given, in order of first appearance.
  const LabelMap n = LabelMap::from_json(R"({"map": {"a": "Q", "b": "P", "c": "Q"}})",
                                         {"a", "b", "c"}, "m");
  EXPECT_EQ(n.target(), (std::vector<std::string>{"Q", "P"}));
  EXPECT_NEAR(n.apply({0.1, 0.3, 0.6})[0], 0.7, 1e-12);
}

TEST(LabelMapTest, Errors) {
  const std::vector<std::string> src = {"a", "b"};
  auto error_of = [&](const std::string& json) {
    try {
      LabelMap::from_json(json, src, "map.json");
    } catch (const FormatError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of(R"({"map": {"a": "X", "b": "Y", "zz": "X"}})").find("unknown source label \"zz\""),
            std::string::npos);
  EXPECT_NE(error_of(R"({"target": ["X"], "map": {"a": "X", "b": "Y"}})")
                .find("unknown target label \"Y\""),
            std::string::npos);
  EXPECT_NE(error_of(R"({"map": {"a": {"X": 0.5, "Y": 0.4}, "b": "Y"}})").find("sum to 0.9"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"map": {"a": {"X": 1.5, "Y": -0.5}, "b": "Y"}})").find("negative"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"map": {"a": "X"}})").find("\"b\" is not mapped"), std::string::npos);
  EXPECT_NE(error_of(R"({"map": {"a": 3, "b": "X"}})").find("must be"), std::string::npos);
  EXPECT_NE(error_of(R"({"map": {"a": "X", "b": "X"}, "extra": 1})").find("\"extra\""),
            std::string::npos);
}

TEST(FusionTest, WeightedTextAndAudio) {
  // Model (labels X, Y) weight 0.7 as is; audio (P -> X, Q -> Y) weight 0.3.
  // X = 0.7 * 0.4 + 0.3 * 0.9 = 0.55; Y = 0.7 * 0.6 + 0.3 * 0.1 = 0.45.
  const Fusion f = Fusion::from_json(
      R"({"target": ["X", "Y"], "model": {"weight": 0.7},
          "inputs": {"audio": {"weight": 0.3, "labels": ["P", "Q"], "map": {"P": "X", "Q": "Y"}}}})",
      {"Y", "X"}, "fusion.json");
  const auto audio = f.parse_input("audio", R"({"P": 0.9, "Q": 0.1})");
  // Model labels are (Y, X): probabilities (0.6, 0.4).
  const auto fused = f.apply({0.6, 0.4}, {{"audio", audio}});
  ASSERT_EQ(fused.size(), 2u);
  EXPECT_NEAR(fused[0], 0.55, 1e-12);
  EXPECT_NEAR(fused[1], 0.45, 1e-12);
  EXPECT_THROW(f.apply({0.6, 0.4}, {}), InvalidArgument);
  EXPECT_THROW(f.parse_input("audio", R"({"R": 0.9})"), InvalidArgument);
  EXPECT_THROW(f.parse_input("audio", R"({"P": 1.9})"), FormatError);
  EXPECT_THROW(f.parse_input("video", "{}"), InvalidArgument);
}

TEST(FusionTest, InputsMustBeProbabilityVectors) {
  const Fusion f = Fusion::from_json(
      R"({"target": ["X", "Y"], "model": {"weight": 0.7},
          "inputs": {"audio": {"weight": 0.3, "labels": ["P", "Q"], "map": {"P": "X", "Q": "Y"}}}})",
      {"X", "Y"}, "fusion.json");
  // Sums of 1.4 and 0 are not probabilities; within 1e-3 of 1 is (absent labels count 0).
  EXPECT_THROW(f.parse_input("audio", R"({"P": 0.5, "Q": 0.9})"), InvalidArgument);
  EXPECT_THROW(f.parse_input("audio", "{}"), InvalidArgument);
  EXPECT_THROW(f.parse_input("audio", "[0.5, -0.1]"), FormatError);
  EXPECT_NO_THROW(f.parse_input("audio", R"({"P": 0.9995})"));
  EXPECT_THROW(f.parse_input("audio", R"({"P": 0.998})"), InvalidArgument);
  // Renormalized: (0.5, 0.9) / 1.4.
  const auto p = f.parse_input("audio", R"({"P": 0.5, "Q": 0.9})", true);
  EXPECT_NEAR(p[0], 0.5 / 1.4, 1e-12);
  EXPECT_NEAR(p[1], 0.9 / 1.4, 1e-12);
  EXPECT_THROW(f.parse_input("audio", "{}", true), InvalidArgument);
}

TEST(Analyze, EntropyRuleInEitherUnit) {
  const std::vector<std::string> labels = {"a", "b", "c"};
  const std::vector<double> p = {0.2, 0.5, 0.3};  // 1.0297 nats, 0.937 of ln 3
  Analysis a = analyze(p, labels, Policy::from_json(R"({"max_entropy_nats": 1.0})", "t"));
  EXPECT_EQ(a.flags, std::vector<std::string>{"complex_emotion"});
  EXPECT_EQ(a.entropy_rule, "entropy_nats > 1");
  a = analyze(p, labels, Policy::from_json(R"({"max_entropy_nats": 1.05})", "t"));
  EXPECT_TRUE(a.flags.empty());
  a = analyze(p, labels, Policy::from_json(R"({"max_normalized_entropy": 0.95})", "t"));
  EXPECT_TRUE(a.flags.empty());
  EXPECT_EQ(a.entropy_rule, "normalized_entropy > 0.95");
  a = analyze(p, labels, Policy::from_json(R"({"max_entropy": 0.9})", "t"));  // older spelling
  EXPECT_EQ(a.flags, std::vector<std::string>{"complex_emotion"});
  EXPECT_EQ(a.entropy_rule, "normalized_entropy > 0.9");
  // The output names its units.
  EXPECT_NE(a.to_json().find("\"entropy_nats\":"), std::string::npos);
  // The seed's 2.8-nat rule can be written as such; it never fires on 7 labels (max ln 7).
  const std::vector<double> uniform7(7, 1.0 / 7);
  a = analyze(uniform7, std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7"},
              Policy::from_json(R"({"max_entropy_nats": 2.8})", "t"));
  EXPECT_TRUE(a.flags.empty());
}

TEST(FusionTest, Errors) {
  auto error_of = [](const std::string& json) {
    try {
      Fusion::from_json(json, {"X", "Y"}, "fusion.json");
    } catch (const FormatError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of(R"({"target": ["X", "Y"], "model": {"weight": 0.7},
      "inputs": {"a": {"weight": 0.2, "labels": ["X", "Y"]}}})").find("sum to 0.9"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"target": ["X", "Y"], "model": {"weight": 1.3},
      "inputs": {"a": {"weight": -0.3, "labels": ["X", "Y"]}}})").find(">= 0"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"target": ["X"], "model": {"weight": 0.5},
      "inputs": {"a": {"weight": 0.5, "labels": ["X"]}}})").find("\"Y\" is not in \"target\""),
            std::string::npos);
  EXPECT_NE(error_of(R"({"target": ["X", "Y"], "model": {"weight": 1}, "inputs": {}})")
                .find("inputs"),
            std::string::npos);
}

TEST(FusionTest, ShippedExampleIsValid) {
  // analysis/examples/text_audio_fusion.json: the seed's 7 -> 6 Korean labels + audio at 0.7/0.3.
  const std::string dir = std::string(MAUM_SOURCE_DIR) + "/analysis/examples/";
  const std::vector<std::string> model = {"fear",    "surprise",  "anger",  "sadness",
                                          "neutral", "happiness", "disgust"};
  const Fusion f = Fusion::load(dir + "text_audio_fusion.json", model);
  EXPECT_EQ(f.target().size(), 6u);
  // Certain happiness from text, certain HAPPY from audio: all mass on 기쁨.
  const auto fused = f.apply({0, 0, 0, 0, 0, 1, 0},
                             {{"audio", f.parse_input("audio", R"({"HAPPY": 1})")}});
  EXPECT_NEAR(fused[0], 1.0, 1e-12);
  const LabelMap m = LabelMap::load(dir + "ko7_to_ko6.json", model);
  double total = 0;
  for (double v : m.apply({0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.2})) total += v;
  EXPECT_NEAR(total, 1.0, 1e-9);
  Policy::load(dir + "seed_policy.json");
}

TEST(Sentences, KoreanAndEnglishRules) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_sentences("오늘은 정말 기뻤다. 그런데 조금 슬펐어!"),
            (V{"오늘은 정말 기뻤다.", "그런데 조금 슬펐어!"}));
  // Korean without a space after the period; runs of marks; ellipsis.
  EXPECT_EQ(split_sentences("좋았다.그래서 웃었다...왜 그랬을까?? 모르겠어…정말"),
            (V{"좋았다.", "그래서 웃었다...", "왜 그랬을까??", "모르겠어…", "정말"}));
  // Closing quotes stay with their sentence; full-width marks.
  EXPECT_EQ(split_sentences("그가 말했다. \"정말이야?\" 나는 놀랐다。다음！"),
            (V{"그가 말했다.", "\"정말이야?\"", "나는 놀랐다。", "다음！"}));
  // Decimals and single-letter abbreviations do not split.
  EXPECT_EQ(split_sentences("Pi is 3.14 today. See e.g. the U.S. report! Done"),
            (V{"Pi is 3.14 today.", "See e.g. the U.S. report!", "Done"}));
  // Line breaks split; blank lines and whitespace-only pieces vanish.
  EXPECT_EQ(split_sentences("첫 줄\n\n  둘째 줄\r\n셋째"), (V{"첫 줄", "둘째 줄", "셋째"}));
  EXPECT_TRUE(split_sentences("").empty());
  EXPECT_TRUE(split_sentences(" \n\t ").empty());
  EXPECT_EQ(split_sentences("no terminator"), (V{"no terminator"}));
  // Invalid UTF-8 passes through without crashing.
  EXPECT_EQ(split_sentences("a\xff. b"), (V{"a\xff.", "b"}));
}

TEST(Documents, Summary) {
  const std::vector<std::string> labels = {"a", "b"};
  const Policy policy = Policy::from_json(R"({"min_confidence": 0.6, "fallback_label": "n"})", "p");
  const std::vector<Analysis> sentences = {analyze({0.9, 0.1}, labels, policy),
                                           analyze({0.2, 0.8}, labels, policy),
                                           analyze({0.7, 0.3}, labels, policy),
                                           analyze({0.55, 0.45}, labels, policy)};
  const DocumentSummary d = summarize(sentences);
  EXPECT_EQ(d.sentences, 4u);
  EXPECT_NEAR(d.mean_probs[0], (0.9 + 0.2 + 0.7 + 0.55) / 4, 1e-12);
  EXPECT_NEAR(d.label_percent[0], 50.0, 1e-12);
  EXPECT_NEAR(d.label_percent[1], 25.0, 1e-12);
  EXPECT_NEAR(d.other_percent.at("n"), 25.0, 1e-12);
}

}  // namespace
// Issue 9.6: a policy temperature of 1e-320 (or 1e300) passed "> 0" and broke the numbers;
// temperatures must lie in [0.01, 100] (what calibrate searches), for a policy and a model alike.
TEST(Policy, TemperatureOutsideTheSaneRangeIsRejected) {
  for (const char* t : {"1e-320", "1e-300", "0.009", "100.5", "1e300"}) {
    SCOPED_TRACE(t);
    try {
      Policy::from_json(std::string("{\"temperature\": ") + t + "}", "policy.json");
      ADD_FAILURE() << "accepted";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("\"temperature\""), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("outside [0.01, 100]"), std::string::npos) << e.what();
    }
  }
  EXPECT_DOUBLE_EQ(*Policy::from_json(R"({"temperature": 0.01})", "p").temperature, 0.01);
  EXPECT_DOUBLE_EQ(*Policy::from_json(R"({"temperature": 100})", "p").temperature, 100.0);
  // A model temperature outside the range (the pipeline's fallback) is refused too.
  EXPECT_THROW(AnalysisPipeline({"a", "b"}, false, 1e-300, Policy{}), InvalidArgument);
}

}  // namespace maum

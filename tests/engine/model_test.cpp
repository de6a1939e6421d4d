// maum::Model on the shared checkpoints: batching and packing never change a result, edge-case
// texts work, probabilities follow the stated math, concurrent calls are safe, and malformed model
// files are rejected with FormatError naming the problem.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/src/safetensors.h"
#include "engine/kernels/kernels.h"
#include "engine/src/encoder.h"
#include "maum/analysis.h"
#include "maum/error.h"
#include "maum/model.h"
#include "maum/runtime.h"
#include "tests/engine/test_models.h"

namespace maum {
namespace {

const char* kKo = "ko-emotion7-small";
const char* kEn = "en-goemotions-electra-small";

const Model& ko_model() {
  static const Model model = Model::load(testing::converted_model(kKo));
  return model;
}
const Model& en_model() {
  static const Model model = Model::load(testing::converted_model(kEn));
  return model;
}

// Texts of very different lengths, read from the golden corpora (independent of the engine).
std::vector<std::string> sample_texts(const std::string& model, size_t count) {
  std::ifstream in(testing::shared_path("golden/model/" + model + "/adversarial.jsonl"));
  std::vector<std::string> texts;
  std::string line;
  while (texts.size() < count && std::getline(in, line))
    texts.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
  return texts;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    d = std::max(d, std::fabs(double(a[i]) - double(b[i])));
  return d;
}

// Packing puts sequences back to back and attention never crosses them, so a text's logits must
// not depend on its batch-mates; only row blocking can change rounding. maum's own kernels compute
// every row the same way in any batch (bit for bit, int8 included, -ffp-contract=off;
// tests/engine/kernels LinearU8S8RowsIndependentOfBatchMates): with the scalar, AVX2 (fp32 layers
// on packed weights since 2026-11-28, OpenBLAS before) and AVX-512 tables results are
// bit-identical. The portable table's fp32 layers are Eigen's blocked GEMM, which may block rows by
// batch size (OpenBLAS did: up to 8.6e-6 on logits of magnitude ~10, a few float ulps): its stated
// bound, for fp32 and int8 alike (issue 9.9; int8 models' head is fp32). A leak of padding or of
// another sequence would move logits by orders of magnitude more.
double batch_tolerance() {
  return maum::kernels::ops().isa == maum::kernels::Isa::kPortable ? 2e-5 : 0.0;
}

TEST(Model, BatchedResultsEqualOneByOne) {
  for (const char* name : {kKo, kEn}) {
    const Model& model = name == std::string(kKo) ? ko_model() : en_model();
    auto texts = sample_texts(name, 60);
    texts.push_back("");
    texts.push_back(std::string(3000, 'a') + " " + std::string(2000, 'b'));
    std::vector<std::vector<float>> single;
    ClassifyOptions one;
    one.batch_size = 1;
    for (const auto& t : texts) single.push_back(model.classify({t}, one).at(0).logits);
    for (size_t batch : {1u, 7u, 32u, 1000u}) {
      ClassifyOptions options;
      options.batch_size = batch;
      const auto results = model.classify(texts, options);
      ASSERT_EQ(results.size(), texts.size());
      for (size_t i = 0; i < texts.size(); ++i)
        EXPECT_LE(max_abs_diff(results[i].logits, single[i]), batch_tolerance())
            << name << " text " << i << " at batch " << batch;
    }
  }
}

TEST(Model, BatchesOverTheTokenBudgetAreSplitTransparently) {
  // 34 texts truncated to 512 tokens exceed one pass's 16384-token budget at batch 64.
  std::vector<std::string> texts;
  for (int i = 0; i < 34; ++i) {
    std::string t = std::to_string(i) + " ";
    for (int w = 0; w < 600 + i; ++w) t += (w % 3 ? "기쁜 " : "슬픈 ");
    texts.push_back(t);
  }
  ClassifyOptions big, one;
  big.batch_size = 64;
  one.batch_size = 1;
  const auto batched = ko_model().classify(texts, big);
  const auto single = ko_model().classify(texts, one);
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_LE(max_abs_diff(batched[i].logits, single[i].logits), batch_tolerance()) << i;
}

TEST(Model, UnpackedWeightsGiveTheSameLogits) {
  // pack_weights=false reads every F32 weight in place from the mapping; the packed SIMD layout
  // only reorders the same products, so results agree to float rounding (logits are O(1-10)).
  LoadOptions in_place;
  in_place.pack_weights = false;
  for (const char* name : {kKo, kEn}) {
    const Model unpacked = Model::load(testing::converted_model(name), in_place);
    const Model& packed = name == std::string(kKo) ? ko_model() : en_model();
    const auto texts = sample_texts(name, 30);
    const auto a = unpacked.classify(texts), b = packed.classify(texts);
    for (size_t i = 0; i < texts.size(); ++i)
      EXPECT_LE(max_abs_diff(a[i].logits, b[i].logits), 2e-5) << name << " text " << i;
  }
}

// ModelInfo says how many int8 linear layers hold 7-bit weights: every encoder linear layer (4 per
// layer; the head stays fp32) of a --reduce-range file, none of an ordinary int8 or an fp32 one.
TEST(Model, InfoCountsSevenBitLayers) {
  const size_t encoder_linears = 4 * ko_model().info().num_layers;
  const Model seven = Model::load(testing::converted_model(kKo, "int8-7bit"));
  EXPECT_EQ(seven.info().int8_linear_layers, encoder_linears);
  EXPECT_EQ(seven.info().seven_bit_linear_layers, encoder_linears);
  const std::string n = std::to_string(encoder_linears);
  EXPECT_NE(describe(seven.info()).find("int8 weights (7-bit in " + n + " of " + n + " linear layers)"),
            std::string::npos) << describe(seven.info());
  const Model int8 = Model::load(testing::converted_model(kKo, "int8"));
  EXPECT_EQ(int8.info().int8_linear_layers, encoder_linears);
  EXPECT_EQ(int8.info().seven_bit_linear_layers, 0u);
  EXPECT_EQ(describe(int8.info()).find("7-bit"), std::string::npos);
  EXPECT_EQ(ko_model().info().int8_linear_layers, 0u);
  EXPECT_EQ(ko_model().info().seven_bit_linear_layers, 0u);
}

TEST(Model, Int8FileLoadsAndStaysCloseToF32) {
  const Model int8 = Model::load(testing::converted_model(kKo, "int8"));
  EXPECT_EQ(int8.info().weight_type, "int8");
  EXPECT_EQ(ko_model().info().weight_type, "f32");
  // Per-channel int8 weights and per-row int8 activations: ~1% relative error per GEMM, so logits
  // of magnitude <= ~5 move by well under 0.15 (observed: ~0.04; the int8 accuracy test checks label agreement).
  const auto texts = sample_texts(kKo, 40);
  const auto q = int8.classify(texts), f = ko_model().classify(texts);
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_LE(max_abs_diff(q[i].logits, f[i].logits), 0.15) << i;
  // Batching is still invisible with int8 (activations are quantized per row).
  ClassifyOptions one;
  one.batch_size = 1;
  const auto single = int8.classify(texts, one);
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_LE(max_abs_diff(single[i].logits, q[i].logits), batch_tolerance()) << i;
}

TEST(ModelFile, ReleasedTensorPagesAreGivenBack) {
  // The loader gives back the pages of every tensor it has packed (SafetensorsFile::release):
  // the file's bytes live in memory the process owns (issue 9.4), so released pages read as
  // zeros afterwards, while the bytes on pages shared with neighbours stay.
  auto file = core::SafetensorsFile::open(testing::converted_model(kKo, "int8"));
  const core::TensorView& t = file->get("layer.0.ffn.up.weight");
  ASSERT_GT(t.nbytes, 3u * 4096u) << "needs whole pages inside the tensor";
  const std::vector<uint8_t> before(t.data, t.data + t.nbytes);
  file->release(t);
  const size_t middle = t.nbytes / 2;
  EXPECT_EQ(t.data[middle], 0) << "a page wholly inside the tensor is released";
  EXPECT_EQ(t.data[0], before[0]);  // a boundary page (shared with the previous tensor) stays
  // A second release, and one of a view outside the buffer, are harmless.
  file->release(t);
  core::TensorView outside = t;
  const uint8_t stray[16] = {};
  outside.data = stray;
  outside.nbytes = sizeof(stray);
  file->release(outside);
}

TEST(Model, Int8UnpackedEqualsPacked) {
  // The packed model released the pages of its int8 weights; the unpacked (reference GEMM) model,
  // loaded from the same file into its own memory, reads them in place: both must compute the
  // same model. The int32 sums are exact,
  // but the epilogues round differently (<= 3e-6 relative), which can flip a later activation's
  // int8 rounding by one step (~1% of that row's max): far below the 0.15 int8-vs-f32 budget.
  LoadOptions in_place;
  in_place.pack_weights = false;
  const std::string path = testing::converted_model(kKo, "int8");
  const Model packed = Model::load(path), unpacked = Model::load(path, in_place);
  const auto texts = sample_texts(kKo, 20);
  const auto a = packed.classify(texts), b = unpacked.classify(texts);
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_LE(max_abs_diff(a[i].logits, b[i].logits), 0.03) << i;
}

TEST(Model, ThreadCountDoesNotChangeResults) {
  // 40 texts at batch 32: passes of 32 and 8 texts, which 2 or 3 threads run sequence-parallel
  // (split_by_tokens), and 3 texts, which they run intra-op.
  const Model int8 = Model::load(testing::converted_model(kKo, "int8"));
  {
    // The 40 texts' first pass (the 32 shortest) does take the sequence-parallel path.
    std::vector<size_t> lengths;
    for (const auto& t : sample_texts(kKo, 40)) lengths.push_back(ko_model().tokenizer().encode(t).ids.size());
    std::sort(lengths.begin(), lengths.end());
    std::vector<engine::SequenceRef> first(32);
    for (size_t i = 0; i < 32; ++i) first[i].length = lengths[i];
    EXPECT_EQ(engine::split_by_tokens(first, 2).size(), 2u);
    EXPECT_EQ(engine::split_by_tokens(first, 3).size(), 3u);
  }
  for (const Model* model : {&ko_model(), &int8}) {
    for (size_t count : {size_t{40}, size_t{3}}) {
      const auto texts = sample_texts(kKo, count);
      set_num_threads(1);
      const auto serial = model->classify(texts);
      for (int threads : {2, 3}) {
        set_num_threads(threads);
        const auto threaded = model->classify(texts);
        ASSERT_EQ(threaded.size(), texts.size());
        for (size_t i = 0; i < texts.size(); ++i)
          EXPECT_LE(max_abs_diff(serial[i].logits, threaded[i].logits), batch_tolerance())
              << model->info().weight_type << " " << threads << " threads, text " << i;
      }
    }
  }
  set_num_threads(0);
}

TEST(Model, ErrorsNameTheCallersIndex) {
  // The inputs are checked before they are sorted by length, cut into batches and (with threads)
  // into per-thread runs: the index is the caller's.
  const Model& model = ko_model();
  std::vector<std::vector<int32_t>> ids;
  for (size_t i = 0; i < 9; ++i) {
    ids.push_back({model.tokenizer().cls_id()});
    for (size_t t = 0; t < 9 - i; ++t) ids.back().push_back(100);  // longest first
    ids.back().push_back(model.tokenizer().sep_id());
  }
  ids[6][1] = 1 << 30;
  set_num_threads(2);
  try {
    model.logits(ids);
    ADD_FAILURE() << "an id outside the vocabulary was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("sequence 6"), std::string::npos) << e.what();
  }
  set_num_threads(0);
}

TEST(Encoder, SplitByTokensBalancesConsecutiveRuns) {
  auto split = [](const std::vector<size_t>& lengths, size_t groups) {
    std::vector<engine::SequenceRef> seqs(lengths.size());
    for (size_t i = 0; i < lengths.size(); ++i) seqs[i].length = lengths[i];
    std::vector<std::vector<size_t>> out;
    for (const auto& g : engine::split_by_tokens(seqs, groups)) {
      out.emplace_back();
      for (const auto& s : g) out.back().push_back(s.length);
    }
    return out;
  };
  using Runs = std::vector<std::vector<size_t>>;
  EXPECT_EQ(split({5, 5, 5, 5}, 2), (Runs{{5, 5}, {5, 5}}));
  EXPECT_EQ(split({4, 4, 4, 4, 4, 4}, 3), (Runs{{4, 4}, {4, 4}, {4, 4}}));
  EXPECT_EQ(split({2, 2, 3, 3, 4, 6}, 2), (Runs{{2, 2, 3, 3}, {4, 6}}));
  // Every sequence once, in order, in `groups` non-empty runs within 1.25x of an even share.
  std::vector<size_t> many;
  for (size_t i = 0; i < 32; ++i) many.push_back(10 + i % 7);
  for (size_t groups : {2u, 3u, 4u}) {
    const Runs runs = split(many, groups);
    ASSERT_EQ(runs.size(), groups);
    std::vector<size_t> flat;
    size_t total = 0, largest = 0;
    for (const auto& r : runs) {
      ASSERT_FALSE(r.empty());
      size_t t = 0;
      for (size_t l : r) t += l;
      largest = std::max(largest, t);
      total += t;
      flat.insert(flat.end(), r.begin(), r.end());
    }
    EXPECT_EQ(flat, many);
    EXPECT_LE(largest * groups * 4, total * 5);
  }
  // Where no cut is even enough (one long text), or there are fewer texts than groups: none.
  EXPECT_TRUE(split({1, 1, 1, 100}, 2).empty());
  EXPECT_TRUE(split({7}, 2).empty());
  EXPECT_TRUE(split({}, 2).empty());
  EXPECT_TRUE(split({3, 3}, 0).empty());
}

TEST(Model, EmptyTextIsClsSep) {
  const Model& model = ko_model();
  const auto& tok = model.tokenizer();
  const auto result = model.classify({""}).at(0);
  const auto direct = model.logits({{tok.cls_id(), tok.sep_id()}}).at(0);
  EXPECT_LE(max_abs_diff(result.logits, direct), batch_tolerance());
  ASSERT_EQ(result.probs.size(), model.info().labels.size());
}

TEST(Model, LongTextIsTruncatedLikeHuggingFace) {
  const Model& model = ko_model();
  const auto& tok = model.tokenizer();
  std::string text;
  for (int i = 0; i < 400; ++i) text += "정말 기쁜 하루였어요! ";
  const auto full = tok.encode(text).ids;
  ASSERT_GT(full.size(), 512u);
  // truncation=True keeps [CLS], the first max_length - 2 tokens, [SEP].
  for (size_t max_length : {size_t(0), size_t(16), size_t(512)}) {
    const size_t keep = (max_length == 0 ? 512 : max_length) - 1;
    std::vector<int32_t> truncated(full.begin(), full.begin() + keep);
    truncated.push_back(tok.sep_id());
    ClassifyOptions options;
    options.max_length = max_length;
    const auto result = model.classify({text}, options).at(0);
    EXPECT_LE(max_abs_diff(result.logits, model.logits({truncated}).at(0)), batch_tolerance())
        << "max_length " << max_length;
  }
  ClassifyOptions too_long;
  too_long.max_length = 513;
  EXPECT_THROW(model.classify({text}, too_long), InvalidArgument);
}

TEST(Model, SingleLabelProbabilitiesAreTemperatureSoftmax) {
  const Model& model = ko_model();
  // The converter embeds calibration.json's temperature (model card: T = 1.8383).
  std::ifstream calib(testing::shared_path("models/ko-emotion7-small/calibration.json"));
  const double t = nlohmann::json::parse(calib).at("temperature").get<double>();
  EXPECT_NEAR(model.info().temperature, t, 1e-6);
  EXPECT_FALSE(model.info().multi_label());
  for (const auto& r : model.classify(sample_texts(kKo, 20))) {
    double max = -INFINITY, sum = 0;
    for (float z : r.logits) max = std::max(max, z / t);
    for (float z : r.logits) sum += std::exp(z / t - max);
    for (size_t i = 0; i < r.logits.size(); ++i)
      EXPECT_NEAR(r.probs[i], std::exp(r.logits[i] / t - max) / sum, 1e-6);
    EXPECT_EQ(r.top, std::max_element(r.logits.begin(), r.logits.end()) - r.logits.begin());
    EXPECT_TRUE(r.predicted.empty());
  }
}

TEST(Model, MultiLabelProbabilitiesAreSigmoidWithThreshold) {
  const Model& model = en_model();
  EXPECT_TRUE(model.info().multi_label());
  EXPECT_EQ(model.info().labels.size(), 28u);
  EXPECT_EQ(model.info().labels[27], "neutral");
  ClassifyOptions options;
  options.threshold = 0.3f;
  for (const auto& r : model.classify(sample_texts(kEn, 30), options)) {
    std::vector<int32_t> expected;
    for (size_t i = 0; i < r.logits.size(); ++i) {
      const double p = 1.0 / (1.0 + std::exp(-double(r.logits[i])));
      EXPECT_NEAR(r.probs[i], p, 1e-6);
      if (r.probs[i] >= 0.3f) expected.push_back(int32_t(i));
    }
    EXPECT_EQ(r.predicted, expected);
    EXPECT_EQ(r.top, std::max_element(r.logits.begin(), r.logits.end()) - r.logits.begin());
  }
}

TEST(Model, ConcurrentClassifyEqualsSerial) {
  const Model& model = ko_model();
  const auto texts = sample_texts(kKo, 40);
  const auto serial = model.classify(texts);
  std::vector<std::vector<Classification>> results(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 3; ++rep) results[t] = model.classify(texts);
    });
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t)
    for (size_t i = 0; i < texts.size(); ++i)
      EXPECT_LE(max_abs_diff(results[t][i].logits, serial[i].logits), batch_tolerance());
}

TEST(Model, RejectsBadInputs) {
  const Model& model = ko_model();
  EXPECT_THROW(model.classify({"ok", std::string("bad \xff utf8")}), InvalidArgument);
  ClassifyOptions zero_batch;
  zero_batch.batch_size = 0;
  EXPECT_THROW(model.classify({"x"}, zero_batch), InvalidArgument);
  ClassifyOptions bad_threshold;
  bad_threshold.threshold = 1.5f;
  EXPECT_THROW(model.classify({"x"}, bad_threshold), InvalidArgument);
  EXPECT_THROW(model.logits({{}}), InvalidArgument);
  EXPECT_THROW(model.logits({{2, 32000, 3}}), InvalidArgument);
  EXPECT_THROW(model.logits({{2, -1, 3}}), InvalidArgument);
  EXPECT_THROW(model.logits({std::vector<int32_t>(513, 5)}), InvalidArgument);
  EXPECT_THROW(model.logits({{2, 5, 3}}, {{0, 2, 0}}), InvalidArgument);
  EXPECT_THROW(model.logits({{2, 5, 3}}, {{0, 0}}), InvalidArgument);
  EXPECT_TRUE(model.classify({}).empty());
}

// Rewrites the converted ko model with one change, for the malformed-file tests.
std::string rewrite_model(const std::string& out_name,
                          const std::function<void(std::map<std::string, std::string>&)>& edit_meta,
                          const std::string& drop_tensor = "",
                          const std::string& reshape_tensor = "",
                          const std::string& nan_tensor = "") {
  auto src = core::SafetensorsFile::open(testing::converted_model(kKo));
  core::SafetensorsWriter writer;
  auto meta = src->metadata();
  edit_meta(meta);
  std::vector<uint8_t> poisoned;  // must outlive writer.write
  for (const auto& [k, v] : meta) writer.set_metadata(k, v);
  for (const auto& [name, t] : src->tensors()) {
    if (name == drop_tensor) continue;
    std::vector<int64_t> shape = t.shape;
    if (name == reshape_tensor) {
      // Same bytes, wrong shape: [a, b] -> [b, a] (or [n] -> [1, n]).
      if (shape.size() == 2) std::swap(shape[0], shape[1]);
      else shape.insert(shape.begin(), 1);
    }
    if (name == nan_tensor) {
      // Same tensor with its first value replaced by NaN (a float32 tensor).
      poisoned.assign(t.data, t.data + t.nbytes);
      const float nan = std::nanf("");
      std::memcpy(poisoned.data(), &nan, sizeof nan);
      writer.add(name, t.dtype, shape, poisoned.data(), t.nbytes);
      continue;
    }
    writer.add(name, t.dtype, shape, t.data, t.nbytes);
  }
  const std::string path = testing::process_temp_dir().path() + "/" + out_name;
  writer.write(path);
  return path;
}

void expect_format_error(const std::string& path, const std::string& must_mention) {
  try {
    Model::load(path);
    ADD_FAILURE() << path << " loaded";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(must_mention), std::string::npos)
        << "message '" << e.what() << "' should mention '" << must_mention << "'";
  }
}

TEST(ModelFile, MissingConfigKeyIsFormatError) {
  const auto path = rewrite_model("no_heads.safetensors", [](auto& meta) {
    auto config = nlohmann::json::parse(meta.at("maum.config"));
    config.erase("num_heads");
    meta["maum.config"] = config.dump();
  });
  expect_format_error(path, "num_heads");
}

TEST(ModelFile, BadConfigValuesAreFormatErrors) {
  expect_format_error(rewrite_model("bad_json.safetensors",
                                    [](auto& meta) { meta["maum.config"] = "{not json"; }),
                      "maum.config");
  expect_format_error(rewrite_model("bad_act.safetensors",
                                    [](auto& meta) {
                                      auto c = nlohmann::json::parse(meta.at("maum.config"));
                                      c["hidden_act"] = "swish";
                                      meta["maum.config"] = c.dump();
                                    }),
                      "hidden_act");
  expect_format_error(rewrite_model("bad_heads.safetensors",
                                    [](auto& meta) {
                                      auto c = nlohmann::json::parse(meta.at("maum.config"));
                                      c["num_heads"] = 3;  // 256 is not a multiple of 3
                                      meta["maum.config"] = c.dump();
                                    }),
                      "num_heads");
  expect_format_error(rewrite_model("more_labels.safetensors",
                                    [](auto& meta) {
                                      auto c = nlohmann::json::parse(meta.at("maum.config"));
                                      c["labels"].push_back("extra");  // head.out has 7 rows
                                      meta["maum.config"] = c.dump();
                                    }),
                      "head.out.weight");
  expect_format_error(rewrite_model("no_version.safetensors",
                                    [](auto& meta) { meta.erase("maum.format_version"); }),
                      "maum.format_version");
  // A Hugging Face model.safetensors has no maum metadata: the message says what to do.
  expect_format_error(rewrite_model("hf_like.safetensors", [](auto& meta) { meta.clear(); }),
                      "maum convert");
}

TEST(ModelFile, WrongTensorShapeIsFormatError) {
  const auto path = rewrite_model("bad_shape.safetensors", [](auto&) {}, "",
                                  "layer.1.attn.qkv.weight");
  expect_format_error(path, "layer.1.attn.qkv.weight");
  try {
    Model::load(path);
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("[768, 256]"), std::string::npos) << e.what();
  }
}

TEST(ModelFile, MissingTensorIsFormatError) {
  expect_format_error(rewrite_model("no_tensor.safetensors", [](auto&) {}, "layer.3.ffn.ln.bias"),
                      "layer.3.ffn.ln.bias");
}

TEST(ModelFile, NanWeightsGiveAnErrorNotNullProbabilities) {
  const Model model = Model::load(
      rewrite_model("nan_bias.safetensors", [](auto&) {}, "", "", "head.out.bias"));
  try {
    model.classify({"정말 기쁜 하루였어요!"});
    ADD_FAILURE() << "classified with a NaN weight";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
  }
}

TEST(ModelFile, MissingFileIsIoError) {
  EXPECT_THROW(Model::load(testing::process_temp_dir().path() + "/absent.safetensors"), IoError);
}

TEST(ModelFile, ModelStaysUsableAfterCopies) {
  std::vector<float> expected = ko_model().classify({"테스트"}).at(0).logits;
  Model copy = Model::load(testing::converted_model(kKo));
  Model second = copy;
  copy = ko_model();
  EXPECT_LE(max_abs_diff(second.classify({"테스트"}).at(0).logits, expected), batch_tolerance());
}

// ---- Issue 9 ----

std::string with_config(const std::string& out_name, const std::function<void(nlohmann::json&)>& edit) {
  return rewrite_model(out_name, [&](auto& meta) {
    auto c = nlohmann::json::parse(meta.at("maum.config"));
    edit(c);
    meta["maum.config"] = c.dump();
  });
}

// 9.6: temperatures that passed "> 0" but are 0 (1e-300 as a float) or flatten everything
// (1e300) are outside [0.01, 100] and rejected as the float the engine uses.
TEST(ModelFile, TemperatureOutsideTheSaneRangeIsRejected) {
  for (double t : {1e-300, 1e-320, 1e-3, 1e300, 1e3}) {
    SCOPED_TRACE(t);
    expect_format_error(with_config("temp.safetensors", [&](nlohmann::json& c) { c["temperature"] = t; }),
                        "\"temperature\" must be within [0.01, 100]");
  }
  ClassifyOptions options;
  options.temperature = 1e-320;
  EXPECT_THROW(ko_model().classify({"a"}, options), InvalidArgument);
  options.temperature = 1e300;
  EXPECT_THROW(ko_model().classify({"a"}, options), InvalidArgument);
}

// 9.7: maum.config labels must be distinct (an all-"a" mapping lost the top probability).
TEST(ModelFile, DuplicateLabelsAreRejected) {
  expect_format_error(with_config("dup.safetensors",
                                  [](nlohmann::json& c) {
                                    for (auto& l : c["labels"]) l = "a";
                                  }),
                      "\"labels\" names \"a\" twice");
}

// 9.8: the loader is as strict as the converter: num_layers smaller than the layers in the file
// silently ran fewer layers.
TEST(ModelFile, FewerLayersThanTheFileHoldsIsRejected) {
  const auto path = with_config("fewer_layers.safetensors", [](nlohmann::json& c) { c["num_layers"] = c["num_layers"].get<int>() - 1; });
  expect_format_error(path, "is not part of the model maum.config describes");
}

// 9.4: the file changed in place under a loaded model (truncated: SIGBUS before; another model
// copied over it: two answers in one run). The loaded model keeps its own bytes.
TEST(ModelFile, FileChangedInPlaceAfterLoadDoesNotChangeTheModel) {
  const std::string path = testing::process_temp_dir().path() + "/inplace.safetensors";
  std::filesystem::copy_file(testing::converted_model(kKo), path, std::filesystem::copy_options::overwrite_existing);
  LoadOptions in_place;
  in_place.pack_weights = false;  // reads every weight where the file's bytes are
  const Model model = Model::load(path, in_place);
  const std::vector<std::string> texts = {"정말 기쁜 하루였어요!", "무서워요"};
  const auto before = model.classify(texts);
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  auto after = model.classify(texts);
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(after[i].logits, before[i].logits);
  std::filesystem::copy_file(testing::converted_model(kEn), path, std::filesystem::copy_options::overwrite_existing);
  after = model.classify(texts);
  for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(after[i].logits, before[i].logits);
}

// The policy embedded in the file comes with the loaded model (ModelInfo::policy_json), so a
// program reads the file's header once, and later changes to the file cannot give it a policy
// from another file than its weights.
TEST(ModelFile, EmbeddedPolicyIsReadAtLoad) {
  EXPECT_FALSE(ko_model().info().policy_json.has_value());
  EXPECT_FALSE(embedded_policy(ko_model().info().policy_json, "ko").has_value());
  const std::string path = testing::process_temp_dir().path() + "/policy.safetensors";
  std::filesystem::copy_file(testing::converted_model(kKo), path, std::filesystem::copy_options::overwrite_existing);
  const Policy written = Policy::from_json(
      R"({"temperature": 1.5, "min_confidence": 0.4, "fallback_label": "neutral"})", "test");
  write_model_policy(path, written, path);
  const Model model = Model::load(path);
  ASSERT_TRUE(model.info().policy_json.has_value());
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);  // nothing below reads the file again
  const std::optional<Policy> read = embedded_policy(model.info().policy_json, path);
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->to_json(), written.to_json());
  EXPECT_THROW(embedded_policy(std::string("{oops"), path), FormatError);
}

}  // namespace
}  // namespace maum

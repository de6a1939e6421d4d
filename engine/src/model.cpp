#include "maum/model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <numeric>

#include "core/src/model_format.h"
#include "core/src/probability.h"
#include "core/src/temperature.h"
#include "engine/kernels/kernels.h"
#include "engine/src/encoder.h"
#include "engine/src/thread_pool.h"
#include "engine/src/weights.h"
#include "maum/error.h"
#include "maum/runtime.h"

namespace maum {

struct Model::Impl {
  engine::ModelConfig config;
  std::unique_ptr<engine::Weights> weights;
  std::unique_ptr<Tokenizer> tokenizer;
  ModelInfo info;
};

namespace {

// Runs the encoder over `order` (indices into refs) in batches of batch_size and returns logits
// in the original index order.
std::vector<std::vector<float>> run_batches(const Model::Impl& impl,
                                            const std::vector<engine::SequenceRef>& refs,
                                            size_t batch_size) {
  if (batch_size == 0) throw InvalidArgument("batch size must be at least 1");
  // This thread computes until every batch has run: concurrent callers share the pool's threads.
  engine::ComputeScope computing;
  // Checked in the caller's order, so that an error names the caller's index (the passes below
  // see the inputs sorted and cut into batches).
  engine::check_sequences(impl.config, refs);
  // Grouping similar lengths keeps the attention tasks of one batch evenly sized.
  std::vector<size_t> order(refs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return refs[a].length < refs[b].length; });
  std::vector<std::vector<float>> logits(refs.size());
  // A forward pass's activations grow with its token count (the FFN buffer alone is
  // tokens x intermediate_size floats), so a batch is also cut where it would exceed this many
  // tokens. Packing makes every result independent of its batch-mates (attention never crosses
  // sequences; every maum kernel computes a row the same way whatever the batch, bit for bit,
  // int8 included: tests/engine/kernels), so cutting is free. The one exception is the portable
  // table's fp32 GEMM (Eigen), which may block rows by batch size: there a logit can move by a
  // few float ulps (bound 2e-5, tests/engine/model_test batch_tolerance).
  constexpr size_t kMaxTokensPerPass = 32 * 512;
  size_t begin = 0;
  while (begin < order.size()) {
    size_t end = begin, tokens = 0;
    while (end < order.size() && end - begin < batch_size &&
           (end == begin || tokens + refs[order[end]].length <= kMaxTokensPerPass)) {
      tokens += refs[order[end]].length;
      ++end;
    }
    std::vector<engine::SequenceRef> batch;
    for (size_t i = begin; i < end; ++i) batch.push_back(refs[order[i]]);
    auto out = engine::encode_and_classify(impl.config, *impl.weights, batch);
    for (size_t i = begin; i < end; ++i) {
      // A NaN or Inf logit means the weights hold NaN/Inf (or values so large that activations
      // overflow): an error, not probabilities of null and an arbitrary "top".
      for (float z : out[i - begin])
        if (!std::isfinite(z))
          throw FormatError("input " + std::to_string(order[i]) +
                            ": the model produced a non-finite logit (its weights contain NaN or "
                            "infinity, or overflow float)");
      logits[order[i]] = std::move(out[i - begin]);
    }
    begin = end;
  }
  return logits;
}

Classification make_classification(const ModelInfo& info, std::vector<float> logits,
                                   const ClassifyOptions& options) {
  Classification c;
  c.logits = std::move(logits);
  // Multi-label sigmoid outputs take only an explicit temperature; single-label the model's.
  const double t = options.temperature > 0 ? options.temperature
                                           : (info.multi_label() ? 1.0 : info.temperature);
  const std::vector<double> p =
      info.multi_label() ? core::sigmoid(c.logits, t) : core::softmax(c.logits, t);
  c.probs.assign(p.begin(), p.end());
  if (info.multi_label())
    for (size_t i = 0; i < c.probs.size(); ++i)
      if (c.probs[i] >= options.threshold) c.predicted.push_back(static_cast<int32_t>(i));
  c.top = static_cast<int32_t>(std::max_element(c.probs.begin(), c.probs.end()) - c.probs.begin());
  return c;
}

}  // namespace

const char* precision_name(Precision precision) {
  return precision == Precision::kBf16 ? "bf16" : "fp32";
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32" || name == "f32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  throw InvalidArgument("precision '" + name + "' is not one of fp32, bf16");
}

std::string describe(const ModelInfo& info) {
  std::string out = info.model_type + ", " + std::to_string(info.num_layers) + " layers, hidden " +
                    std::to_string(info.hidden_size) + ", " + std::to_string(info.labels.size()) +
                    " labels, " + info.weight_type + " weights";
  if (info.seven_bit_linear_layers > 0)
    out += " (7-bit in " + std::to_string(info.seven_bit_linear_layers) + " of " +
           std::to_string(info.int8_linear_layers) + " linear layers)";
  if (info.precision != info.weight_type) out += ", " + info.precision + " linear layers";
  return out;
}

Model::Model(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

Model Model::load(const std::string& path, const LoadOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  // On demand: the weights the kernels repack are read slab by slab into the packing, never whole.
  auto file = format::open(path, core::Reading::kOnDemand);
  auto impl = std::make_shared<Impl>();
  impl->config = format::read_config(*file);
  const bool bf16 = options.precision == Precision::kBf16;
  impl->weights = engine::bind_weights(file, impl->config,
                                       options.pack_weights ? &kernels::ops() : nullptr,
                                       bf16 ? &kernels::ops() : nullptr, [&] {
    // From the file already read (Tokenizer::from_model_file would read it a second time), on the
    // load's threads beside the weights (a tenth of a one-sentence run's work on BERT-base).
    impl->tokenizer =
        std::make_unique<Tokenizer>(format::parse_tokenizer(*file, Tokenizer::from_serialized));
  });

  const auto& c = impl->config;
  ModelInfo& info = impl->info;
  info.model_type = c.model_type;
  info.problem_type = c.problem_type;
  info.labels = c.labels;
  info.temperature = c.temperature;
  info.hidden_size = c.hidden_size;
  info.num_layers = c.num_layers;
  info.num_heads = c.num_heads;
  info.intermediate_size = c.intermediate_size;
  info.max_position_embeddings = c.max_tokens();
  info.weight_type = impl->weights->quantized ? "int8" : "f32";
  info.precision = bf16 ? "bf16" : info.weight_type;
  info.int8_linear_layers = impl->weights->int8_linears;
  info.seven_bit_linear_layers = impl->weights->narrow_linears;
  info.policy_json = format::policy_json(*file);
  if (options.verbose) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    std::cerr << "maum: loaded " << path << " in " << ms << " ms (" << describe(info) << ")\n"
              << "maum: " << runtime_info() << "\n";
  }
  return Model(std::move(impl));
}

const ModelInfo& Model::info() const { return impl_->info; }
const Tokenizer& Model::tokenizer() const { return *impl_->tokenizer; }

std::vector<std::vector<float>> Model::logits(const std::vector<std::vector<int32_t>>& ids,
                                              const std::vector<std::vector<int32_t>>& type_ids,
                                              size_t batch_size) const {
  if (!type_ids.empty() && type_ids.size() != ids.size())
    throw InvalidArgument("logits: " + std::to_string(type_ids.size()) + " type id lists for " +
                          std::to_string(ids.size()) + " id lists");
  std::vector<engine::SequenceRef> refs(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    refs[i].ids = ids[i].data();
    refs[i].length = ids[i].size();
    if (!type_ids.empty()) {
      if (type_ids[i].size() != ids[i].size())
        throw InvalidArgument("logits: input " + std::to_string(i) + " has " +
                              std::to_string(ids[i].size()) + " ids but " +
                              std::to_string(type_ids[i].size()) + " type ids");
      refs[i].type_ids = type_ids[i].data();
    }
  }
  return run_batches(*impl_, refs, batch_size);
}

std::vector<Classification> Model::classify(const std::vector<std::string>& texts,
                                            const ClassifyOptions& options) const {
  const auto& c = impl_->config;
  if (options.batch_size == 0) throw InvalidArgument("batch size must be at least 1");
  if (!(options.threshold >= 0.f && options.threshold <= 1.f))
    throw InvalidArgument("threshold must be within [0, 1]");
  size_t max_length = options.max_length == 0 ? c.max_tokens() : options.max_length;
  if (max_length > c.max_tokens())
    throw InvalidArgument("max length " + std::to_string(max_length) + " exceeds the model's " +
                          std::to_string(c.max_tokens()) + " positions");
  if (max_length < 2) throw InvalidArgument("max length must be at least 2 ([CLS] and [SEP])");
  if (options.temperature != 0 && !core::valid_temperature(options.temperature))
    throw InvalidArgument(std::string("temperature must be within ") + core::temperature_range() +
                          " (or 0 for the model's)");

  EncodeOptions encode;
  encode.max_length = max_length;
  std::vector<Encoding> encodings(texts.size());
  engine::parallel_for(texts.size(), [&](size_t i) {
    try {
      encodings[i] = impl_->tokenizer->encode(texts[i], encode);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument("text " + std::to_string(i) + ": " + e.what());
    }
  });
  std::vector<engine::SequenceRef> refs(texts.size());
  for (size_t i = 0; i < texts.size(); ++i)
    refs[i] = {encodings[i].ids.data(), encodings[i].type_ids.data(), encodings[i].ids.size()};
  auto logits = run_batches(*impl_, refs, options.batch_size);
  std::vector<Classification> out;
  out.reserve(texts.size());
  for (auto& l : logits) out.push_back(make_classification(impl_->info, std::move(l), options));
  return out;
}

}  // namespace maum

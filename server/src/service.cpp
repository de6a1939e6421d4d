#include "service.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <utility>

#include "batcher.h"
#include "lru_cache.h"
#include "maum/error.h"
#include "maum/runtime.h"
#include "maum/tokenizer.h"
#include "metrics.h"

namespace maum::server {
namespace {

std::unique_ptr<LoadedModel> load_model(const ServedModel& spec, Precision precision) {
  const auto started = std::chrono::steady_clock::now();
  LoadOptions options;
  options.precision = precision;
  Model model = Model::load(spec.path, options);
  const ModelInfo& info = model.info();
  std::optional<Policy> policy = embedded_policy(info.policy_json, spec.path);
  std::optional<AnalysisPipeline> pipeline;
  try {
    pipeline.emplace(info.labels, info.multi_label(), info.temperature, policy.value_or(Policy{}));
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(spec.path + ": " + e.what());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return std::unique_ptr<LoadedModel>(new LoadedModel{spec.name, spec.path, std::move(model),
                                                       std::move(*pipeline), policy.has_value(),
                                                       seconds});
}

}  // namespace

Service::Service(const ServerOptions& options, Metrics& metrics)
    : metrics_(metrics), max_batch_(std::max<size_t>(1, options.max_batch)) {
  if (options.models.empty()) throw InvalidArgument("no model to serve (use --model)");
  for (const auto& spec : options.models) {
    if (find(spec.name)) throw InvalidArgument("two models named \"" + spec.name + "\"");
    models_.push_back(load_model(spec, options.precision));
    metrics.model_loaded(spec.name, models_.back()->load_seconds);
  }
  if (options.cache > 0) cache_ = std::make_unique<LruCache>(options.cache);
  // Two lanes where there are two threads to share (docs/SERVER.md, "Batching"); with one thread
  // a second lane would only take turns with the first.
  const size_t lanes = num_threads() >= 2 ? 2 : 1;
  batcher_ = std::make_unique<Batcher>(options.max_batch, options.max_wait_ms, options.queue,
                                       metrics, lanes);
}

Service::~Service() { shutdown(); }

void Service::shutdown() {
  if (batcher_) batcher_->stop();
}

const LoadedModel* Service::find(const std::string& name) const {
  if (name.empty()) return models_.empty() ? nullptr : models_.front().get();
  for (const auto& m : models_)
    if (m->name == name) return m.get();
  return nullptr;
}

// Tokenized here, on the connection's thread, as `maum classify` does: truncated to the model's
// maximum length. Only a text that fills it is tokenized again in full, to flag truncation.
std::vector<int32_t> Service::tokenize(const LoadedModel& model, const std::string& text,
                                       TextOutput& out) const {
  const Tokenizer& tokenizer = model.model.tokenizer();
  const size_t max_length = model.model.info().max_position_embeddings;
  EncodeOptions encode;
  encode.max_length = max_length;
  Encoding e = tokenizer.encode(text, encode);
  out.tokens = e.ids.size();
  if (e.ids.size() >= max_length) out.truncated = tokenizer.encode(text).ids.size() > max_length;
  return std::move(e.ids);
}

void Service::infer_async(const LoadedModel& model, const std::string& text, InferDone done) {
  std::string key = model.name + '\0' + text;
  std::optional<TextOutput> hit = cache_ ? cache_->get(key) : std::nullopt;
  if (cache_) metrics_.cache(hit.has_value());
  if (hit) {
    done(std::move(*hit), nullptr);
    return;
  }
  TextOutput out;
  std::vector<int32_t> ids;
  batcher_->announce(1);  // the batcher waits for it while it tokenizes (as infer's texts)
  try {
    ids = tokenize(model, text, out);
  } catch (const InvalidArgument& e) {
    batcher_->announce(-1);
    throw BadText{e.what()};
  } catch (...) {
    batcher_->announce(-1);
    throw;
  }
  std::vector<std::vector<int32_t>> one;
  one.push_back(std::move(ids));
  LruCache* cache = cache_.get();
  batcher_->submit(model.model, std::move(one),  // takes the announcement back
                   [cache, key = std::move(key), out = std::move(out), done = std::move(done)](
                       std::vector<std::vector<float>> logits, std::exception_ptr error) mutable {
                     if (error) return done(TextOutput{}, error);
                     out.logits = std::move(logits.front());
                     if (cache) cache->put(key, out);
                     done(std::move(out), nullptr);
                   });
}

std::vector<TextOutput> Service::infer(const LoadedModel& model,
                                       const std::vector<std::string>& texts) {
  std::vector<TextOutput> outputs(texts.size());
  std::vector<size_t> missing;
  std::vector<std::string> keys(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    keys[i] = model.name + '\0' + texts[i];
    std::optional<TextOutput> hit = cache_ ? cache_->get(keys[i]) : std::nullopt;
    if (cache_) metrics_.cache(hit.has_value());
    if (hit) outputs[i] = std::move(*hit);
    else missing.push_back(i);
  }
  if (missing.empty()) return outputs;

  std::vector<std::vector<int32_t>> ids;
  ids.reserve(missing.size());
  // Announced before tokenizing, so the batcher waits for these rather than running a batch
  // without them; whatever does not reach run() is taken back.
  struct Announcement {
    Batcher& batcher;
    long left;
    ~Announcement() { if (left > 0) batcher.announce(-left); }
  } announced{*batcher_, static_cast<long>(missing.size())};
  batcher_->announce(announced.left);
  for (size_t i : missing) {
    try {
      ids.push_back(tokenize(model, texts[i], outputs[i]));
    } catch (const InvalidArgument& e) {
      throw BadText{texts.size() > 1 ? "text " + std::to_string(i) + ": " + e.what()
                                     : std::string(e.what())};
    }
  }
  // In pieces of one batch: a request with more texts than the queue holds still gets through.
  // Only the piece about to be queued stays announced.
  const size_t piece = std::min(ids.size(), max_batch_);
  batcher_->announce(-static_cast<long>(ids.size() - piece));
  announced.left = static_cast<long>(piece);
  std::vector<std::vector<float>> logits;
  for (size_t first = 0; first < ids.size(); first += max_batch_) {
    const size_t last = std::min(ids.size(), first + max_batch_);
    if (first > 0) batcher_->announce(static_cast<long>(last - first));
    announced.left = 0;  // run() takes the announcement back whatever happens
    auto part = batcher_->run(model.model, std::vector<std::vector<int32_t>>(
                                               std::make_move_iterator(ids.begin() + first),
                                               std::make_move_iterator(ids.begin() + last)));
    for (auto& l : part) logits.push_back(std::move(l));
  }
  for (size_t k = 0; k < missing.size(); ++k) {
    TextOutput& out = outputs[missing[k]];
    out.logits = std::move(logits[k]);
    if (cache_) cache_->put(keys[missing[k]], out);
  }
  return outputs;
}

std::string unknown_model_message(const Service& service, const std::string& name) {
  std::string names;
  for (const auto& m : service.models()) names += (names.empty() ? "" : ", ") + m->name;
  return "no model named \"" + name + "\" (served: " + names + ")";
}

Analysis Service::analyze(const LoadedModel& model, const TextOutput& output) const {
  return model.pipeline.run(output.logits);
}

}  // namespace maum::server

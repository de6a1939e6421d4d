// The models a server serves and the one place where a model's outputs become an emotion analysis
// (its embedded policy applied). Routes turn these results into each endpoint's JSON.
#pragma once
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "maum/analysis.h"
#include "maum/model.h"
#include "maum/server.h"

namespace maum::server {

class Batcher;
class LruCache;
class Metrics;

struct LoadedModel {
  std::string name, path;
  Model model;
  AnalysisPipeline pipeline;  // the model's temperature and embedded policy
  bool has_policy = false;
  double load_seconds = 0;
};

// What the model gave for one text (cached as is: a hit never runs the model).
struct TextOutput {
  std::vector<float> logits;
  size_t tokens = 0;       // after truncation, with [CLS] and [SEP]
  bool truncated = false;  // the text had more tokens than the model's maximum
};

// A text the client sent was not usable (invalid UTF-8): a 400.
struct BadText {
  std::string message;
};

class Service {
 public:
  Service(const ServerOptions& options, Metrics& metrics);
  ~Service();

  const std::vector<std::unique_ptr<LoadedModel>>& models() const { return models_; }
  // By name; empty: the default (first) model. nullptr if unknown.
  const LoadedModel* find(const std::string& name) const;

  // Outputs for `texts` in order, from the cache or one batch on the inference thread. Throws
  // BadText (invalid UTF-8), Overloaded (queue full) or ShuttingDown.
  std::vector<TextOutput> infer(const LoadedModel& model, const std::vector<std::string>& texts);
  // One text without waiting: `done` gets the output (or the model's error) from the cache at once
  // or on the inference thread after its batch (keep it short). Throws BadText, Overloaded or
  // ShuttingDown at once.
  using InferDone = std::function<void(TextOutput output, std::exception_ptr error)>;
  void infer_async(const LoadedModel& model, const std::string& text, InferDone done);

  // THE analysis of one output: the model's policy (temperature, fallback, thresholds, flags).
  Analysis analyze(const LoadedModel& model, const TextOutput& output) const;

  Batcher& batcher() { return *batcher_; }
  LruCache* cache() { return cache_.get(); }
  void shutdown();

 private:
  std::vector<int32_t> tokenize(const LoadedModel& model, const std::string& text,
                                TextOutput& out) const;

  std::vector<std::unique_ptr<LoadedModel>> models_;
  std::unique_ptr<LruCache> cache_;
  std::unique_ptr<Batcher> batcher_;
  Metrics& metrics_;
  size_t max_batch_;
};

// "no model named \"NAME\" (served: a, b)": the message of every unknown_model error.
std::string unknown_model_message(const Service& service, const std::string& name);

}  // namespace maum::server

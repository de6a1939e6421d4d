// The emotion endpoints: the seeds' /analyze_emotion and /predict shapes, batch /v1/classify and
// the model list. Every analysis comes from Service::analyze (the model's policy applied there).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "maum/runtime.h"
#include "routes.h"

namespace maum::server {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

const LoadedModel& model_for(Service& service, const json& body) {
  std::string name;
  if (body.contains("model") && !body["model"].is_null()) {
    if (!body["model"].is_string())
      throw HttpError{400, "wrong_type", "\"model\" must be a string"};
    name = body["model"].get<std::string>();
  }
  const LoadedModel* m = service.find(name);
  if (!m) throw HttpError{400, "unknown_model", unknown_model_message(service, name)};
  return *m;
}

std::string string_field(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null())
    throw HttpError{400, "missing_field", std::string("missing field \"") + key + "\""};
  if (!it->is_string())
    throw HttpError{400, "wrong_type", std::string("\"") + key + "\" must be a string"};
  return it->get<std::string>();
}

// top_k as the Hugging Face pipeline reads it: absent -> `absent`, null -> every label (0),
// else an integer >= 1.
size_t top_k_field(const json& body, size_t absent) {
  auto it = body.find("top_k");
  if (it == body.end()) return absent;
  if (it->is_null()) return 0;
  if (!it->is_number_integer() || it->get<long long>() < 1)
    throw HttpError{400, "wrong_type", "\"top_k\" must be an integer >= 1 or null"};
  return static_cast<size_t>(it->get<long long>());
}

double elapsed_ms(Clock::time_point started) {
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  return std::round(ms * 1000) / 1000;
}

ordered_json analysis_json(const Analysis& a) { return ordered_json::parse(a.to_json()); }

void analyze_emotion(Service& service, const httplib::Request& req, httplib::Response& res) {
  const auto started = Clock::now();
  const json body = parse_body(req);
  const std::string text = string_field(body, "text");
  if (body.contains("user_id") && !body["user_id"].is_null() && !body["user_id"].is_string() &&
      !body["user_id"].is_number_integer())
    throw HttpError{400, "wrong_type", "\"user_id\" must be a string"};
  const LoadedModel& model = model_for(service, body);
  const TextOutput out = service.infer(model, {text}).front();
  const Analysis a = service.analyze(model, out);
  ordered_json j;
  ordered_json emotions = ordered_json::object();
  for (size_t i = 0; i < a.labels.size(); ++i) emotions[a.labels[i]] = a.probs[i];
  j["emotions"] = std::move(emotions);
  j["dominant"] = a.labels[a.dominant];
  j["entropy"] = a.entropy;
  j["confidence"] = a.confidence;
  if (model.has_policy) {
    j["label"] = a.label;
    j["fallback"] = a.fallback;
    j["flags"] = a.flags;
  }
  if (a.multi_label) {
    ordered_json predicted = ordered_json::array();
    for (size_t i : a.predicted) predicted.push_back(a.labels[i]);
    j["predicted"] = std::move(predicted);
  }
  if (out.truncated) j["truncated"] = true;
  j["processing_time_ms"] = elapsed_ms(started);
  send_json(res, 200, j);
}

void predict(Service& service, const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req);
  const std::string text = string_field(body, body.contains("question") ? "question" : "text");
  const size_t top_k = top_k_field(body, 1);
  const LoadedModel& model = model_for(service, body);
  const Analysis a = service.analyze(model, service.infer(model, {text}).front());
  std::vector<size_t> order(a.probs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return a.probs[x] > a.probs[y]; });
  if (top_k > 0 && top_k < order.size()) order.resize(top_k);
  ordered_json j = ordered_json::array();
  for (size_t i : order) j.push_back({{"label", a.labels[i]}, {"score", a.probs[i]}});
  send_json(res, 200, j);
}

void classify(Service& service, size_t max_texts, const httplib::Request& req,
              httplib::Response& res) {
  const auto started = Clock::now();
  const json body = parse_body(req);
  auto texts_it = body.find("texts");
  if (texts_it == body.end() || texts_it->is_null())
    throw HttpError{400, "missing_field", "missing field \"texts\""};
  if (!texts_it->is_array())
    throw HttpError{400, "wrong_type", "\"texts\" must be an array of strings"};
  if (texts_it->size() > max_texts)
    throw HttpError{413, "too_many_texts", std::to_string(texts_it->size()) +
                                               " texts in one request; at most " +
                                               std::to_string(max_texts)};
  std::vector<std::string> texts;
  for (const auto& t : *texts_it) {
    if (!t.is_string()) throw HttpError{400, "wrong_type", "\"texts\" must be an array of strings"};
    texts.push_back(t.get<std::string>());
  }
  bool split = false;
  if (body.contains("split") && !body["split"].is_null()) {
    if (body["split"] != "sentences")
      throw HttpError{400, "wrong_type", "\"split\" must be \"sentences\" or null"};
    split = true;
  }
  const size_t top_k = top_k_field(body, 0);
  const LoadedModel& model = model_for(service, body);
  auto analysed = [&](const TextOutput& out) {
    Analysis a = service.analyze(model, out);
    if (top_k > 0 && top_k < a.top.size()) a.top.resize(top_k);
    return a;
  };

  ordered_json results = ordered_json::array();
  if (!split) {
    const std::vector<TextOutput> outs = service.infer(model, texts);
    for (size_t i = 0; i < texts.size(); ++i)
      results.push_back({{"text", texts[i]},
                         {"analysis", analysis_json(analysed(outs[i]))},
                         {"tokens", outs[i].tokens},
                         {"truncated", outs[i].truncated}});
  } else {
    // Every sentence of every text in one call (one batch), then regrouped per text.
    std::vector<std::string> sentences;
    std::vector<size_t> begin;
    for (const auto& t : texts) {
      begin.push_back(sentences.size());
      for (auto& s : split_sentences(t)) sentences.push_back(std::move(s));
    }
    begin.push_back(sentences.size());
    const std::vector<TextOutput> outs = service.infer(model, sentences);
    for (size_t i = 0; i < texts.size(); ++i) {
      ordered_json per = ordered_json::array();
      std::vector<Analysis> analyses;
      for (size_t k = begin[i]; k < begin[i + 1]; ++k) {
        analyses.push_back(analysed(outs[k]));
        per.push_back({{"text", sentences[k]},
                       {"analysis", analysis_json(analyses.back())},
                       {"truncated", outs[k].truncated}});
      }
      results.push_back({{"text", texts[i]},
                         {"sentences", std::move(per)},
                         {"summary", analyses.empty() ? ordered_json(nullptr)
                                                      : ordered_json::parse(
                                                            summarize(analyses).to_json())}});
    }
  }
  ordered_json j;
  j["model"] = model.name;
  j["results"] = std::move(results);
  j["processing_time_ms"] = elapsed_ms(started);
  send_json(res, 200, j);
}

void models(Service& service, const httplib::Request&, httplib::Response& res) {
  ordered_json list = ordered_json::array();
  for (const auto& m : service.models()) {
    const ModelInfo& info = m->model.info();
    ordered_json j;
    j["name"] = m->name;
    j["default"] = m.get() == service.models().front().get();
    j["labels"] = m->pipeline.output_labels();
    j["problem_type"] = info.problem_type;
    j["model_type"] = info.model_type;
    j["precision"] = info.precision;
    j["seven_bit_linear_layers"] = info.seven_bit_linear_layers;
    j["isa"] = maum::runtime_info();
    j["max_length"] = info.max_position_embeddings;
    j["temperature"] = m->pipeline.temperature();
    j["policy"] = m->has_policy ? ordered_json::parse(m->pipeline.policy().to_json())
                                : ordered_json(nullptr);
    j["load_seconds"] = m->load_seconds;
    list.push_back(std::move(j));
  }
  send_json(res, 200, {{"models", std::move(list)}});
}

}  // namespace

void add_emotion_routes(Router& router, Service& service, size_t max_texts) {
  Service* s = &service;
  router.add("POST", "/analyze_emotion",
             [s](const httplib::Request& q, httplib::Response& r) { analyze_emotion(*s, q, r); });
  router.add("POST", "/predict",
             [s](const httplib::Request& q, httplib::Response& r) { predict(*s, q, r); });
  router.add("POST", "/v1/classify", [s, max_texts](const httplib::Request& q,
                                                    httplib::Response& r) {
    classify(*s, max_texts, q, r);
  });
  router.add("GET", "/v1/models",
             [s](const httplib::Request& q, httplib::Response& r) { models(*s, q, r); });
}

}  // namespace maum::server

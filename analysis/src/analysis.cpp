// Per-text analysis, the policy, label maps, fusion and sentence splitting (maum/analysis.h).
#include "maum/analysis.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/src/files.h"
#include "core/src/probability.h"
#include "core/src/temperature.h"
#include "maum/error.h"

namespace maum {
namespace {

using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;


Json parse_json(const std::string& text, const std::string& origin) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {  // parse_error, and out_of_range for numbers like 1e400
    throw FormatError(origin + ": malformed JSON: " + e.what());
  }
}

double number_in(const Json& j, const std::string& origin, const std::string& field, double lo,
                 double hi) {
  if (!j.is_number()) throw FormatError(origin + ": \"" + field + "\" must be a number");
  const double v = j.get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    std::ostringstream msg;
    msg << origin << ": \"" << field << "\" = " << v << " is outside [" << lo << ", " << hi << "]";
    throw FormatError(msg.str());
  }
  return v;
}

std::string string_in(const Json& j, const std::string& origin, const std::string& field) {
  if (!j.is_string()) throw FormatError(origin + ": \"" + field + "\" must be a string");
  return j.get<std::string>();
}

void reject_unknown_keys(const Json& j, const std::set<std::string>& known,
                         const std::string& origin, const std::string& where) {
  std::vector<std::string> unknown;
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.count(it.key())) unknown.push_back("\"" + it.key() + "\"");
  if (unknown.empty()) return;
  std::string names;
  for (const auto& u : unknown) names += (names.empty() ? "" : ", ") + u;
  std::string allowed;
  for (const auto& k : known) allowed += (allowed.empty() ? "" : ", ") + k;
  throw FormatError(origin + ": unknown key(s) " + names + " in " + where + " (allowed: " +
                    allowed + ")");
}

size_t index_of(const std::vector<std::string>& labels, const std::string& name) {
  auto it = std::find(labels.begin(), labels.end(), name);
  return it == labels.end() ? labels.size() : static_cast<size_t>(it - labels.begin());
}

std::string format_number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Policy

Policy Policy::from_json(const std::string& json_text, const std::string& source) {
  const Json j = parse_json(json_text, source);
  if (!j.is_object()) throw FormatError(source + ": a policy must be a JSON object");
  reject_unknown_keys(j,
                      {"temperature", "min_confidence", "fallback_label", "max_entropy",
                       "max_entropy_nats", "max_normalized_entropy", "entropy_flag", "threshold",
                       "thresholds", "top_k", "valence"},
                      source, "the policy");
  Policy p;
  if (j.contains("temperature") && !j["temperature"].is_null()) {
    p.temperature = number_in(j["temperature"], source, "temperature", core::kMinTemperature, core::kMaxTemperature);
  }
  if (j.contains("min_confidence"))
    p.min_confidence = number_in(j["min_confidence"], source, "min_confidence", 0, 1);
  if (j.contains("fallback_label"))
    p.fallback_label = string_in(j["fallback_label"], source, "fallback_label");
  if (p.min_confidence > 0 && p.fallback_label.empty())
    throw FormatError(source + ": \"min_confidence\" > 0 needs a \"fallback_label\"");
  // "max_entropy" (the key before the explicit names) is the normalized threshold.
  if (j.contains("max_entropy") && j.contains("max_normalized_entropy"))
    throw FormatError(source + ": give \"max_normalized_entropy\" or its older spelling "
                      "\"max_entropy\", not both");
  for (const char* key : {"max_entropy", "max_normalized_entropy"})
    if (j.contains(key) && !j[key].is_null())
      p.max_normalized_entropy = number_in(j[key], source, key, 0, 1);
  if (j.contains("max_entropy_nats") && !j["max_entropy_nats"].is_null())
    p.max_entropy_nats = number_in(j["max_entropy_nats"], source, "max_entropy_nats", 0, 1e6);
  if (j.contains("entropy_flag")) {
    p.entropy_flag = string_in(j["entropy_flag"], source, "entropy_flag");
    if (p.entropy_flag.empty()) throw FormatError(source + ": \"entropy_flag\" must not be empty");
  }
  if (j.contains("threshold")) p.threshold = number_in(j["threshold"], source, "threshold", 0, 1);
  if (j.contains("thresholds")) {
    const Json& t = j["thresholds"];
    if (!t.is_object())
      throw FormatError(source + ": \"thresholds\" must be an object {label: threshold}");
    for (auto it = t.begin(); it != t.end(); ++it)
      p.thresholds[it.key()] = number_in(it.value(), source, "thresholds." + it.key(), 0, 1);
  }
  if (j.contains("top_k")) {
    const Json& k = j["top_k"];
    if (!k.is_number_integer() || k.get<long long>() < 0)
      throw FormatError(source + ": \"top_k\" must be a non-negative integer");
    p.top_k = static_cast<size_t>(k.get<long long>());
  }
  if (j.contains("valence")) {
    const Json& v = j["valence"];
    if (!v.is_object()) throw FormatError(source + ": \"valence\" must be an object {label: value}");
    for (auto it = v.begin(); it != v.end(); ++it)
      p.valence[it.key()] = number_in(it.value(), source, "valence." + it.key(), -1, 1);
  }
  return p;
}

Policy Policy::load(const std::string& path) { return from_json(core::read_file(path), path); }

std::string Policy::to_json() const {
  OrderedJson j = OrderedJson::object();
  if (temperature) j["temperature"] = *temperature;
  if (min_confidence > 0) j["min_confidence"] = min_confidence;
  if (!fallback_label.empty()) j["fallback_label"] = fallback_label;
  if (max_entropy_nats) j["max_entropy_nats"] = *max_entropy_nats;
  if (max_normalized_entropy) j["max_normalized_entropy"] = *max_normalized_entropy;
  if (entropy_flag != "complex_emotion") j["entropy_flag"] = entropy_flag;
  if (threshold != 0.5) j["threshold"] = threshold;
  if (!thresholds.empty()) j["thresholds"] = thresholds;
  if (top_k) j["top_k"] = top_k;
  if (!valence.empty()) j["valence"] = valence;
  return j.dump(-1, ' ', false);
}

void Policy::check_labels(const std::vector<std::string>& labels, const std::string& source) const {
  // The fallback may be a label the model lacks (e.g. "neutral" for a model without it): it is a
  // reported name, not an index. Thresholds must name real labels or they would silently not apply.
  for (const auto& kv : thresholds)
    if (index_of(labels, kv.first) == labels.size())
      throw InvalidArgument(source + ": \"thresholds\" names unknown label \"" + kv.first +
                            "\" (labels: " + join(labels) + ")");
  for (const auto& kv : valence)
    if (index_of(labels, kv.first) == labels.size() && kv.first != fallback_label)
      throw InvalidArgument(source + ": \"valence\" names unknown label \"" + kv.first +
                            "\" (labels: " + join(labels) + ")");
}

double Policy::threshold_for(const std::string& label) const {
  auto it = thresholds.find(label);
  return it == thresholds.end() ? threshold : it->second;
}

// ---------------------------------------------------------------------------------------------
// Probabilities and statistics

std::vector<double> softmax(const std::vector<float>& logits, double temperature) {
  return core::softmax(logits, temperature);
}

std::vector<double> sigmoid(const std::vector<float>& logits, double temperature) {
  return core::sigmoid(logits, temperature);
}

double entropy_nats(const std::vector<double>& probs) {
  double h = 0;
  for (double p : probs)
    if (p > 0) h -= p * std::log(p);
  return h;
}

Analysis analyze(const std::vector<double>& probs, const std::vector<std::string>& labels,
                 const Policy& policy, bool multi_label) {
  if (probs.size() != labels.size())
    throw InvalidArgument("analyze: " + std::to_string(probs.size()) + " probabilities for " +
                          std::to_string(labels.size()) + " labels");
  if (probs.empty()) throw InvalidArgument("analyze: no labels");
  Analysis a;
  a.labels = labels;
  a.probs = probs;
  a.multi_label = multi_label;
  a.top.resize(probs.size());
  std::iota(a.top.begin(), a.top.end(), size_t{0});
  std::stable_sort(a.top.begin(), a.top.end(),
                   [&](size_t x, size_t y) { return probs[x] > probs[y]; });
  a.dominant = a.top[0];
  a.confidence = probs[a.dominant];
  a.margin = probs.size() > 1 ? a.confidence - probs[a.top[1]] : a.confidence;
  if (policy.top_k && policy.top_k < a.top.size()) a.top.resize(policy.top_k);
  a.label = labels[a.dominant];
  if (multi_label) {
    // Each sigmoid output is a separate Bernoulli: entropy is the mean binary entropy per label,
    // normalized by ln 2. (The softmax entropy of a vector that does not sum to 1 means nothing.)
    double h = 0;
    for (double p : probs) {
      if (p > 0) h -= p * std::log(p);
      if (p < 1) h -= (1 - p) * std::log(1 - p);
    }
    a.entropy = h / static_cast<double>(probs.size());
    a.normalized_entropy = a.entropy / std::log(2.0);
    for (size_t i = 0; i < probs.size(); ++i)
      if (probs[i] >= policy.threshold_for(labels[i])) a.predicted.push_back(i);
  } else {
    a.entropy = entropy_nats(probs);
    a.normalized_entropy =
        probs.size() > 1 ? a.entropy / std::log(static_cast<double>(probs.size())) : 0.0;
  }
  a.normalized_entropy = std::min(1.0, std::max(0.0, a.normalized_entropy));
  if (policy.min_confidence > 0 && a.confidence < policy.min_confidence) {
    a.label = policy.fallback_label;
    a.fallback = true;
  }
  // Either rule flags; entropy_rule names the quantity the (first triggered, else first set) rule
  // compared, so a reader knows which unit the threshold was in.
  const bool nats = policy.max_entropy_nats && a.entropy > *policy.max_entropy_nats;
  const bool normalized =
      policy.max_normalized_entropy && a.normalized_entropy > *policy.max_normalized_entropy;
  if (nats || normalized) a.flags.push_back(policy.entropy_flag);
  if (nats || (!normalized && policy.max_entropy_nats))
    a.entropy_rule = "entropy_nats > " + format_number(*policy.max_entropy_nats);
  else if (policy.max_normalized_entropy)
    a.entropy_rule = "normalized_entropy > " + format_number(*policy.max_normalized_entropy);
  return a;
}

std::string Analysis::to_json() const {
  OrderedJson j;
  j["label"] = label;
  j["dominant"] = labels[dominant];
  j["confidence"] = confidence;
  j["margin"] = margin;
  j["entropy_nats"] = entropy;
  j["normalized_entropy"] = normalized_entropy;
  j["fallback"] = fallback;
  j["flags"] = flags;
  if (!entropy_rule.empty()) j["entropy_rule"] = entropy_rule;
  OrderedJson probs_by_label = OrderedJson::object();
  for (size_t i = 0; i < labels.size(); ++i) probs_by_label[labels[i]] = probs[i];
  j["labels"] = std::move(probs_by_label);
  OrderedJson top_list = OrderedJson::array();
  for (size_t i : top) top_list.push_back({{"label", labels[i]}, {"p", probs[i]}});
  j["top"] = std::move(top_list);
  if (multi_label) {
    OrderedJson pred = OrderedJson::array();
    for (size_t i : predicted) pred.push_back(labels[i]);
    j["predicted"] = std::move(pred);
  }
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// ---------------------------------------------------------------------------------------------
// Label maps and fusion

namespace {

// Builds a LabelMap's rows from the "map" object. `target` may be empty: then it is collected
// from the mapped names in order of first appearance.
void build_rows(const Json& map, const std::vector<std::string>& source,
                std::vector<std::string>& target, bool fixed_target, std::vector<double>& weights,
                const std::string& origin) {
  if (!map.is_object())
    throw FormatError(origin + ": \"map\" must be an object {source label: target or {target: w}}");
  for (auto it = map.begin(); it != map.end(); ++it)
    if (index_of(source, it.key()) == source.size())
      throw FormatError(origin + ": \"map\" names unknown source label \"" + it.key() +
                        "\" (source labels: " + join(source) + ")");
  auto target_index = [&](const std::string& name, const std::string& row) {
    size_t t = index_of(target, name);
    if (t == target.size()) {
      if (fixed_target)
        throw FormatError(origin + ": \"map\"." + row + " names unknown target label \"" + name +
                          "\" (target labels: " + join(target) + ")");
      target.push_back(name);
    }
    return t;
  };
  std::vector<std::vector<std::pair<size_t, double>>> rows(source.size());
  for (size_t s = 0; s < source.size(); ++s) {
    if (!map.contains(source[s]))
      throw FormatError(origin + ": source label \"" + source[s] +
                        "\" is not mapped (every source label needs a row)");
    const Json& v = map[source[s]];
    if (v.is_string()) {
      rows[s].push_back({target_index(v.get<std::string>(), source[s]), 1.0});
    } else if (v.is_object()) {
      double sum = 0;
      for (auto w = v.begin(); w != v.end(); ++w) {
        if (!w.value().is_number())
          throw FormatError(origin + ": \"map\"." + source[s] + "." + w.key() + " must be a number");
        const double weight = w.value().get<double>();
        if (!std::isfinite(weight) || weight < 0)
          throw FormatError(origin + ": \"map\"." + source[s] + "." + w.key() +
                            " is a negative or non-finite weight");
        sum += weight;
        rows[s].push_back({target_index(w.key(), source[s]), weight});
      }
      if (std::fabs(sum - 1.0) > 1e-4) {
        std::ostringstream msg;
        msg << origin << ": the weights of \"map\"." << source[s] << " sum to " << sum
            << ", not 1";
        throw FormatError(msg.str());
      }
    } else {
      throw FormatError(origin + ": \"map\"." + source[s] +
                        " must be a target label or an object {target: weight}");
    }
  }
  weights.assign(source.size() * target.size(), 0.0);
  for (size_t s = 0; s < source.size(); ++s)
    for (const auto& tw : rows[s]) weights[s * target.size() + tw.first] += tw.second;
}

std::vector<std::string> string_list(const Json& j, const std::string& origin,
                                     const std::string& field) {
  if (!j.is_array() || j.empty())
    throw FormatError(origin + ": \"" + field + "\" must be a non-empty array of label names");
  std::vector<std::string> out;
  for (const auto& v : j) {
    if (!v.is_string()) throw FormatError(origin + ": \"" + field + "\" must hold strings");
    if (index_of(out, v.get<std::string>()) != out.size())
      throw FormatError(origin + ": \"" + field + "\" repeats \"" + v.get<std::string>() + "\"");
    out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

LabelMap LabelMap::from_json(const std::string& json_text, const std::vector<std::string>& source,
                             const std::string& origin) {
  const Json j = parse_json(json_text, origin);
  if (!j.is_object()) throw FormatError(origin + ": a label map must be a JSON object");
  reject_unknown_keys(j, {"target", "map"}, origin, "the label map");
  if (!j.contains("map")) throw FormatError(origin + ": missing \"map\"");
  LabelMap m;
  m.source_ = source;
  const bool fixed = j.contains("target");
  if (fixed) m.target_ = string_list(j["target"], origin, "target");
  build_rows(j["map"], source, m.target_, fixed, m.weights_, origin);
  return m;
}

LabelMap LabelMap::load(const std::string& path, const std::vector<std::string>& source) {
  return from_json(core::read_file(path), source, path);
}

double LabelMap::weight(size_t s, size_t t) const { return weights_.at(s * target_.size() + t); }

std::vector<double> LabelMap::apply(const std::vector<double>& probs, bool multi_label) const {
  if (probs.size() != source_.size())
    throw InvalidArgument("label map: " + std::to_string(probs.size()) +
                          " probabilities for " + std::to_string(source_.size()) +
                          " source labels");
  const size_t nt = target_.size();
  std::vector<double> out(nt, 0.0);
  for (size_t s = 0; s < source_.size(); ++s)
    for (size_t t = 0; t < nt; ++t) {
      const double v = probs[s] * weights_[s * nt + t];
      out[t] = multi_label ? std::max(out[t], v) : out[t] + v;
    }
  return out;
}

namespace {

// A source's map: its own "map", or the identity when its labels are the target's (any order).
LabelMap source_map(const Json& spec, const std::vector<std::string>& labels,
                    const std::vector<std::string>& target, const std::string& origin) {
  Json m;
  m["target"] = target;
  if (spec.contains("map")) {
    m["map"] = spec["map"];
  } else {
    m["map"] = Json::object();
    for (const auto& l : labels) {
      if (index_of(target, l) == target.size())
        throw FormatError(origin + ": label \"" + l +
                          "\" is not in \"target\"; give a \"map\" for this source");
      m["map"][l] = l;
    }
  }
  return LabelMap::from_json(m.dump(), labels, origin);
}

double source_weight(const Json& spec, const std::string& origin) {
  if (!spec.contains("weight")) throw FormatError(origin + ": missing \"weight\"");
  if (!spec["weight"].is_number()) throw FormatError(origin + ": \"weight\" must be a number");
  const double w = spec["weight"].get<double>();
  if (!std::isfinite(w) || w < 0) throw FormatError(origin + ": \"weight\" must be >= 0");
  return w;
}

}  // namespace

Fusion Fusion::from_json(const std::string& json_text,
                         const std::vector<std::string>& model_labels, const std::string& origin) {
  const Json j = parse_json(json_text, origin);
  if (!j.is_object()) throw FormatError(origin + ": a fusion spec must be a JSON object");
  reject_unknown_keys(j, {"target", "model", "inputs"}, origin, "the fusion spec");
  if (!j.contains("target")) throw FormatError(origin + ": missing \"target\"");
  if (!j.contains("model") || !j["model"].is_object())
    throw FormatError(origin + ": missing \"model\" object");
  if (!j.contains("inputs") || !j["inputs"].is_object() || j["inputs"].empty())
    throw FormatError(origin + ": \"inputs\" must be a non-empty object {name: {...}}");
  Fusion f;
  f.target_ = string_list(j["target"], origin, "target");
  const Json& model = j["model"];
  reject_unknown_keys(model, {"weight", "map"}, origin, "\"model\"");
  f.model_.weight = source_weight(model, origin + " \"model\"");
  f.model_.map = source_map(model, model_labels, f.target_, origin + " \"model\"");
  double total = f.model_.weight;
  for (auto it = j["inputs"].begin(); it != j["inputs"].end(); ++it) {
    const std::string where = origin + " \"inputs\"." + it.key();
    if (!it.value().is_object()) throw FormatError(where + " must be an object");
    reject_unknown_keys(it.value(), {"weight", "labels", "map"}, origin,
                        "\"inputs\"." + it.key());
    if (!it.value().contains("labels")) throw FormatError(where + ": missing \"labels\"");
    Source s;
    s.weight = source_weight(it.value(), where);
    s.map = source_map(it.value(), string_list(it.value()["labels"], where, "labels"), f.target_,
                       where);
    total += s.weight;
    f.inputs_.emplace(it.key(), std::move(s));
  }
  if (std::fabs(total - 1.0) > 1e-6) {
    std::ostringstream msg;
    msg << origin << ": the weights of \"model\" and \"inputs\" sum to " << total << ", not 1";
    throw FormatError(msg.str());
  }
  return f;
}

Fusion Fusion::load(const std::string& path, const std::vector<std::string>& model_labels) {
  return from_json(core::read_file(path), model_labels, path);
}

std::vector<std::string> Fusion::input_names() const {
  std::vector<std::string> names;
  for (const auto& kv : inputs_) names.push_back(kv.first);
  return names;
}

const std::vector<std::string>& Fusion::input_labels(const std::string& name) const {
  auto it = inputs_.find(name);
  if (it == inputs_.end()) throw InvalidArgument("fusion: unknown input \"" + name + "\"");
  return it->second.map.source();
}

std::vector<double> Fusion::apply(const std::vector<double>& model_probs,
                                  const std::map<std::string, std::vector<double>>& inputs) const {
  for (const auto& kv : inputs)
    if (!inputs_.count(kv.first))
      throw InvalidArgument("fusion: unknown input \"" + kv.first + "\" (declared: " +
                            join(input_names()) + ")");
  std::vector<double> out = model_.map.apply(model_probs);
  for (double& v : out) v *= model_.weight;
  for (const auto& kv : inputs_) {
    auto it = inputs.find(kv.first);
    if (it == inputs.end())
      throw InvalidArgument("fusion: missing input \"" + kv.first + "\"");
    const std::vector<double> mapped = kv.second.map.apply(it->second);
    for (size_t t = 0; t < out.size(); ++t) out[t] += kv.second.weight * mapped[t];
  }
  return out;
}

std::vector<double> Fusion::parse_input(const std::string& name, const std::string& json_text,
                                        bool renormalize) const {
  const std::vector<std::string>& labels = input_labels(name);
  const std::string origin = "fusion input \"" + name + "\"";
  const Json j = parse_json(json_text, origin);
  std::vector<double> p(labels.size(), 0.0);
  if (j.is_array()) {
    if (j.size() != labels.size())
      throw InvalidArgument(origin + ": " + std::to_string(j.size()) + " values for " +
                            std::to_string(labels.size()) + " labels");
    for (size_t i = 0; i < labels.size(); ++i)
      p[i] = number_in(j[i], origin, labels[i], 0, renormalize ? 1e300 : 1);
  } else if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const size_t i = index_of(labels, it.key());
      if (i == labels.size())
        throw InvalidArgument(origin + ": unknown label \"" + it.key() + "\" (labels: " +
                              join(labels) + ")");
      p[i] = number_in(it.value(), origin, it.key(), 0, renormalize ? 1e300 : 1);
    }
  } else {
    throw InvalidArgument(origin + ": expected {label: probability} or an array");
  }
  // A probability vector: fusing anything else would give "probabilities" that do not sum to 1
  // and entropy/confidence computed on them.
  const double sum = std::accumulate(p.begin(), p.end(), 0.0);
  if (renormalize) {
    if (!(sum > 0) || !std::isfinite(sum))
      throw InvalidArgument(origin + ": the values sum to " + format_number(sum) +
                            "; cannot renormalize");
    for (double& v : p) v /= sum;
  } else if (std::fabs(sum - 1.0) > 1e-3) {
    throw InvalidArgument(origin + ": the probabilities sum to " + format_number(sum) +
                          ", not 1 (within 1e-3; absent labels count as 0; --renormalize "
                          "divides by the sum)");
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// The pipeline

AnalysisPipeline::AnalysisPipeline(std::vector<std::string> model_labels, bool multi_label,
                                   double model_temperature, Policy policy,
                                   std::optional<LabelMap> remap, std::optional<Fusion> fusion)
    : model_labels_(std::move(model_labels)),
      multi_label_(multi_label),
      temperature_(policy.temperature.value_or(multi_label ? 1.0 : model_temperature)),
      policy_(std::move(policy)),
      remap_(std::move(remap)),
      fusion_(std::move(fusion)) {
  if (!core::valid_temperature(temperature_))
    throw InvalidArgument("analysis: temperature " + std::to_string(temperature_) + " is outside " +
                          core::temperature_range());
  std::vector<std::string> labels = model_labels_;
  if (remap_) {
    if (remap_->source() != labels)
      throw InvalidArgument("analysis: the remap's source labels are not the model's labels");
    labels = remap_->target();
  }
  if (fusion_) labels = fusion_->target();
  output_labels_ = labels;
  policy_.check_labels(output_labels_, "policy");
}

Analysis AnalysisPipeline::run(const std::vector<float>& logits,
                               const std::map<std::string, std::vector<double>>& inputs) const {
  if (logits.size() != model_labels_.size())
    throw InvalidArgument("analysis: " + std::to_string(logits.size()) + " logits for " +
                          std::to_string(model_labels_.size()) + " labels");
  std::vector<double> p = multi_label_ ? sigmoid(logits, temperature_) : softmax(logits, temperature_);
  if (remap_) p = remap_->apply(p, multi_label_);
  if (fusion_) p = fusion_->apply(p, inputs);
  return analyze(p, output_labels_, policy_, multi_label_);
}

// ---------------------------------------------------------------------------------------------
// Sentences and documents

namespace {

// Decodes one UTF-8 code point at s[i]; on invalid bytes returns the byte itself with length 1
// (splitting never needs to reject text; the tokenizer reports invalid UTF-8 later).
char32_t decode_at(const std::string& s, size_t i, size_t& len) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  if (c < 0x80) { len = 1; return c; }
  if ((c & 0xE0) == 0xC0 && cont(1)) {
    len = 2;
    return ((c & 0x1F) << 6) | (s[i + 1] & 0x3F);
  }
  if ((c & 0xF0) == 0xE0 && cont(1) && cont(2)) {
    len = 3;
    return ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
  }
  if ((c & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
    len = 4;
    return ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) |
           (s[i + 3] & 0x3F);
  }
  len = 1;
  return 0xFFFD;
}

bool is_terminator(char32_t c) {
  return c == '.' || c == '!' || c == '?' || c == 0x2026 || c == 0x3002 || c == 0xFF01 ||
         c == 0xFF1F || c == 0xFF0E;
}
bool is_closer(char32_t c) {
  return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}' || c == 0x2019 ||
         c == 0x201D || c == 0x300D || c == 0x300F || c == 0x3011 || c == 0xFF09 ||
         c == 0x300B || c == 0x3009;
}
bool is_space(char32_t c) { return c == ' ' || c == '\t' || c == 0x3000 || c == 0xA0; }
bool is_line_break(char32_t c) { return c == '\n' || c == '\r' || c == 0x2028 || c == 0x2029; }
bool is_hangul(char32_t c) {
  return (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0x1100 && c <= 0x11FF) ||
         (c >= 0x3130 && c <= 0x318F);
}
bool is_ascii_letter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  auto space_at = [&](size_t i) {
    size_t len;
    return is_space(decode_at(s, i, len)) ? len : 0;
  };
  while (b < e) {
    size_t n = space_at(b);
    if (!n) break;
    b += n;
  }
  // Trailing: step back over ASCII spaces and U+3000 / U+00A0 (2-3 byte sequences).
  while (e > b) {
    if (s[e - 1] == ' ' || s[e - 1] == '\t') { --e; continue; }
    if (e - b >= 3 && s.compare(e - 3, 3, "\xE3\x80\x80") == 0) { e -= 3; continue; }
    if (e - b >= 2 && s.compare(e - 2, 2, "\xC2\xA0") == 0) { e -= 2; continue; }
    break;
  }
  return s.substr(b, e - b);
}

}  // namespace

std::vector<std::string> split_sentences(const std::string& text) {
  std::vector<std::string> out;
  auto emit = [&](size_t begin, size_t end) {
    std::string piece = trim(text.substr(begin, end - begin));
    if (!piece.empty()) out.push_back(std::move(piece));
  };
  size_t start = 0, i = 0;
  char32_t prev = 0, prev2 = 0;  // the two code points before i (0 at a sentence start)
  while (i < text.size()) {
    size_t len;
    const char32_t c = decode_at(text, i, len);
    if (is_line_break(c)) {
      emit(start, i);
      start = i = i + len;
      prev = prev2 = 0;
      continue;
    }
    if (!is_terminator(c)) {
      prev2 = prev;
      prev = c;
      i += len;
      continue;
    }
    // A run of terminators, then closing quotes/brackets.
    size_t j = i;
    size_t run = 0;
    bool only_dots = true;
    char32_t cj = c;
    size_t lj = len;
    while (j < text.size() && is_terminator(cj = decode_at(text, j, lj))) {
      only_dots = only_dots && cj == '.';
      ++run;
      j += lj;
    }
    while (j < text.size() && is_closer(cj = decode_at(text, j, lj))) j += lj;
    char32_t next = 0;
    if (j < text.size()) next = decode_at(text, j, lj);
    bool boundary;
    if (j >= text.size() || is_space(next) || is_line_break(next)) {
      // "e.g. x", "U.S. Army": one '.' right after a lone ASCII letter is an abbreviation.
      const bool abbreviation = only_dots && run == 1 && is_ascii_letter(prev) &&
                                (prev2 == 0 || prev2 == '.' || is_space(prev2));
      boundary = !abbreviation;
    } else if (only_dots) {
      // "3.14", "file.txt", "e.g.": no split; Korean often omits the space ("했다.그래서").
      boundary = is_hangul(next);
    } else {
      // ! ? … and the full-width marks end a sentence even without a following space.
      boundary = true;
    }
    if (boundary) {
      emit(start, j);
      start = j;
      prev = prev2 = 0;
    } else {
      prev2 = prev;
      prev = c;
    }
    i = boundary ? j : i + len;
  }
  emit(start, text.size());
  return out;
}

DocumentSummary summarize(const std::vector<Analysis>& sentences) {
  DocumentSummary d;
  d.sentences = sentences.size();
  if (sentences.empty()) return d;
  d.labels = sentences[0].labels;
  d.mean_probs.assign(d.labels.size(), 0.0);
  d.label_percent.assign(d.labels.size(), 0.0);
  const double share = 100.0 / static_cast<double>(sentences.size());
  for (const Analysis& a : sentences) {
    if (a.labels != d.labels)
      throw InvalidArgument("summarize: sentences analysed with different label sets");
    for (size_t j = 0; j < d.labels.size(); ++j)
      d.mean_probs[j] += a.probs[j] / static_cast<double>(sentences.size());
    const size_t k = index_of(d.labels, a.label);
    if (k < d.labels.size())
      d.label_percent[k] += share;
    else
      d.other_percent[a.label] += share;
  }
  return d;
}

std::string DocumentSummary::to_json() const {
  OrderedJson j;
  j["sentences"] = sentences;
  OrderedJson mean = OrderedJson::object(), percent = OrderedJson::object();
  for (size_t i = 0; i < labels.size(); ++i) {
    mean[labels[i]] = mean_probs[i];
    percent[labels[i]] = label_percent[i];
  }
  for (const auto& kv : other_percent) percent[kv.first] = kv.second;
  j["mean"] = std::move(mean);
  j["percent"] = std::move(percent);
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace maum

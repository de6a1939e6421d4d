// Emotion analysis over a classifier's outputs, configured by data (docs/ANALYSIS.md): temperature,
// per-text statistics (confidence, entropy, margin), confidence fallback and "complex emotion"
// flags, multi-label thresholds, label remapping, fusion with external probability vectors, and
// sentence-level document analysis. Depends only on logits/probabilities and label names.
// Every parser validates its input and throws maum::FormatError / maum::InvalidArgument naming the
// file (or source) and the field.
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace maum {

// The analysis policy: JSON, embedded in a model file as metadata "maum.policy" or given at run time.
struct Policy {
  std::optional<double> temperature;  // logits / T before softmax; unset: the model's own
  double min_confidence = 0.0;        // top probability below this -> fallback_label (0: never)
  std::string fallback_label;         // required when min_confidence > 0
  // The "complex emotion" rule, in either unit (both may be set; either one flags):
  //   max_entropy_nats: entropy in nats (-sum p ln p) above this -> entropy_flag (the seed's rule;
  //     note ln K is the largest possible value, 1.946 for 7 labels);
  //   max_normalized_entropy: entropy / ln K (0..1) above this -> entropy_flag. The JSON key
  //     "max_entropy" is read as this one (its meaning before the explicit names existed).
  std::optional<double> max_entropy_nats;
  std::optional<double> max_normalized_entropy;
  std::string entropy_flag = "complex_emotion";
  double threshold = 0.5;                     // multi-label default decision threshold
  std::map<std::string, double> thresholds;   // per-label overrides
  size_t top_k = 0;                           // report the k most probable labels (0: all)
  // Valence of each label in [-1, 1] for conversation flow (maum/flow.h), e.g. happiness +1,
  // sadness -1, neutral 0; labels not listed count 0. May name the fallback label.
  std::map<std::string, double> valence;

  // `source` names the file (or "metadata maum.policy") in error messages.
  static Policy from_json(const std::string& json_text, const std::string& source);
  static Policy load(const std::string& path);
  std::string to_json() const;
  // Throws InvalidArgument if a threshold, or a valence other than the fallback label's, names a
  // label not in `labels`.
  void check_labels(const std::vector<std::string>& labels, const std::string& source) const;
  double threshold_for(const std::string& label) const;
};

// softmax(logits / temperature); temperature must be > 0. Stable for large logits.
std::vector<double> softmax(const std::vector<float>& logits, double temperature = 1.0);
std::vector<double> sigmoid(const std::vector<float>& logits, double temperature = 1.0);
// Shannon entropy in nats, -sum p ln p (terms with p = 0 contribute 0).
double entropy_nats(const std::vector<double>& probs);

struct Analysis {
  std::vector<std::string> labels;  // label set of `probs` (model's, or the remap/fusion target)
  std::vector<double> probs;
  size_t dominant = 0;              // argmax of probs (first on ties)
  std::string label;                // labels[dominant], or the policy's fallback label
  bool fallback = false;            // label is the fallback because confidence < min_confidence
  double confidence = 0;            // top probability
  double margin = 0;                // top minus second probability (top when K = 1)
  double entropy = 0;               // nats
  double normalized_entropy = 0;    // entropy / ln K, in [0, 1] (0 when K = 1)
  std::vector<std::string> flags;   // e.g. the policy's entropy_flag
  // Which entropy the flag rule compared ("entropy_nats" or "normalized_entropy"; empty: none).
  std::string entropy_rule;
  std::vector<size_t> top;          // indices by descending probability (policy top_k of them)
  bool multi_label = false;
  std::vector<size_t> predicted;    // multi-label: indices with prob >= their threshold, ascending

  // One JSON object (compact, UTF-8): label, dominant, confidence, margin, entropy_nats,
  // normalized_entropy, fallback, flags, labels {name: p}, top, predicted (multi-label).
  std::string to_json() const;
};

// Statistics and policy decisions on a probability vector (softmax or, multi_label, sigmoid).
Analysis analyze(const std::vector<double>& probs, const std::vector<std::string>& labels,
                 const Policy& policy = {}, bool multi_label = false);

// A row-stochastic map from a source label set to a target label set, applied to probabilities:
// target_j = sum_i p_i * w_ij (single-label) or max_i p_i * w_ij (multi-label scores). JSON:
//   {"target": ["a", "b", ...],            // optional: defaults to the mapped names, in order
//    "map": {"src1": "a",                  // many-to-one
//            "src2": {"a": 0.5, "b": 0.5}}} // weighted row, must sum to 1
// Every source label must be mapped; unknown labels, negative weights and rows not summing to 1
// (within 1e-4) are errors.
class LabelMap {
 public:
  static LabelMap from_json(const std::string& json_text, const std::vector<std::string>& source,
                            const std::string& origin);
  static LabelMap load(const std::string& path, const std::vector<std::string>& source);
  const std::vector<std::string>& source() const { return source_; }
  const std::vector<std::string>& target() const { return target_; }
  double weight(size_t source_index, size_t target_index) const;
  std::vector<double> apply(const std::vector<double>& probs, bool multi_label = false) const;

 private:
  std::vector<std::string> source_, target_;
  std::vector<double> weights_;  // [source][target]
};

// Weighted fusion of the model's probabilities with external probability vectors (e.g. an audio
// model's), each mapped into one target label set. JSON:
//   {"target": ["기쁨", ...],
//    "model": {"weight": 0.7, "map": {...LabelMap "map"...}},       // map optional if labels agree
//    "inputs": {"audio": {"weight": 0.3, "labels": ["ANGRY", ...], "map": {...}}}}
// Weights must be >= 0 and sum to 1 (within 1e-6).
class Fusion {
 public:
  static Fusion from_json(const std::string& json_text, const std::vector<std::string>& model_labels,
                          const std::string& origin);
  static Fusion load(const std::string& path, const std::vector<std::string>& model_labels);
  const std::vector<std::string>& target() const { return target_; }
  std::vector<std::string> input_names() const;
  const std::vector<std::string>& input_labels(const std::string& name) const;
  // `inputs`: name -> probabilities in that input's label order; every declared input is required.
  std::vector<double> apply(const std::vector<double>& model_probs,
                            const std::map<std::string, std::vector<double>>& inputs) const;
  // Parses {"ANGRY": 0.1, ...} (or an array in label order) for input `name`; validates labels,
  // values in [0, 1].
  // Values must be finite and >= 0 and (as a probability vector) sum to 1 within 1e-3; with
  // `renormalize` any non-negative vector with a positive sum is divided by its sum instead.
  std::vector<double> parse_input(const std::string& name, const std::string& json_text,
                                  bool renormalize = false) const;

 private:
  struct Source {
    double weight = 0;
    LabelMap map;
  };
  std::vector<std::string> target_;
  Source model_;
  std::map<std::string, Source> inputs_;
};

// Splits text into sentences: after runs of . ! ? … 。 ！ ？ (with any closing quotes/brackets that
// follow) when followed by whitespace or end of text, and at line breaks. A '.' between digits
// ("3.14") and single-letter abbreviations ("e.g.", "U.S.") do not end a sentence. Pieces are
// trimmed; empty pieces are dropped. Invalid UTF-8 passes through byte-wise.
std::vector<std::string> split_sentences(const std::string& text);

// A document analysed sentence by sentence.
struct DocumentSummary {
  std::vector<std::string> labels;
  std::vector<double> mean_probs;      // mean of the sentences' probabilities
  std::vector<double> label_percent;   // % of sentences whose reported label is labels[j]
  std::map<std::string, double> other_percent;  // % reported as a label outside `labels` (fallback)
  size_t sentences = 0;
  std::string to_json() const;
};
DocumentSummary summarize(const std::vector<Analysis>& sentences);

// The whole per-text chain a classifier's logits go through: temperature (the policy's, else the
// model's; multi-label sigmoid outputs only take a policy temperature), softmax or sigmoid, the
// optional remap, the optional fusion with external inputs, then analyze() with the policy.
class AnalysisPipeline {
 public:
  AnalysisPipeline(std::vector<std::string> model_labels, bool multi_label,
                   double model_temperature, Policy policy,
                   std::optional<LabelMap> remap = std::nullopt,
                   std::optional<Fusion> fusion = std::nullopt);
  // `inputs`: the fusion's external probability vectors (ignored without a fusion).
  Analysis run(const std::vector<float>& logits,
               const std::map<std::string, std::vector<double>>& inputs = {}) const;
  const std::vector<std::string>& output_labels() const { return output_labels_; }
  double temperature() const { return temperature_; }
  const Policy& policy() const { return policy_; }
  const std::optional<Fusion>& fusion() const { return fusion_; }

 private:
  std::vector<std::string> model_labels_, output_labels_;
  bool multi_label_;
  double temperature_;
  Policy policy_;
  std::optional<LabelMap> remap_;
  std::optional<Fusion> fusion_;
};

// Loads the policy file at `path`, checks it against the model's `labels` as classify and eval
// will when they read it back, and returns the JSON to embed in a model file.
std::string policy_json_for_model(const std::string& path, const std::vector<std::string>& labels);

// The policy embedded in a maum model file (metadata "maum.policy"), if any.
std::optional<Policy> read_model_policy(const std::string& model_path);
// The same from that metadata as a loaded model read it (maum::ModelInfo::policy_json), without
// opening the file again; errors name `model_path`.
std::optional<Policy> embedded_policy(const std::optional<std::string>& policy_json,
                                      const std::string& model_path);
// Writes the model file again to `out_path` (may be `model_path`; written to a temporary file and
// renamed) with `policy` as metadata "maum.policy"; when the policy sets a temperature it also
// becomes maum.config's "temperature", so plain classification uses it too.
void write_model_policy(const std::string& model_path, const Policy& policy,
                        const std::string& out_path);

}  // namespace maum

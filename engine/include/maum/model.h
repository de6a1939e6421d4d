// A BERT-family (BERT, ELECTRA, RoBERTa, DistilBERT) sequence classifier loaded from a maum model file (see docs/FORMAT.md), with its
// tokenizer and labels. Thread-safe: one loaded Model may serve concurrent classify() calls.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "maum/tokenizer.h"

namespace maum {

// What the linear layers of an fp32 model compute in (a run-time choice; the file is unchanged).
//  kFp32: the weights as the file stores them (fp32, or int8 for a quantized file).
//  kBf16: fp32 files only: each linear layer's weights are rounded to bfloat16 once at load and
//         kept only as bf16 (half the memory), and its input rows are rounded to bf16 at every
//         call; products are exact and summed in fp32. Embeddings, biases, GELU, LayerNorm,
//         softmax and attention stay fp32. docs/PERF.md has the accuracy and speed figures.
enum class Precision { kFp32 = 0, kBf16 = 1 };
const char* precision_name(Precision precision);  // "fp32" | "bf16"
// "fp32" or "bf16"; throws maum::InvalidArgument naming the accepted values otherwise.
Precision parse_precision(const std::string& name);

struct LoadOptions {
  bool verbose = false;  // log load time, ISA and kernels to stderr
  // Copy the linear layers' weights once into the selected kernels' SIMD layout (faster GEMMs, at
  // the cost of that copy's load time; the file's bytes of those weights are given back). Off:
  // every F32 weight is read in place from the file's bytes. (bf16 always converts.)
  bool pack_weights = true;
  // kBf16 on an int8 file throws maum::InvalidArgument.
  Precision precision = Precision::kFp32;
};

struct ClassifyOptions {
  size_t max_length = 0;  // 0: ModelInfo::max_position_embeddings; longer inputs are truncated
  size_t batch_size = 32; // texts per forward pass (grouped by length to avoid padding work)
  float threshold = 0.5f; // multi-label: labels with probability >= threshold are "predicted"
  // > 0: divide logits by this instead of the model's calibrated temperature (single-label) or 1
  // (multi-label) before softmax / sigmoid, e.g. a policy's temperature. 0: the model's.
  double temperature = 0;
};

struct Classification {
  std::vector<float> logits;     // one per label, raw
  std::vector<float> probs;      // softmax(logits / temperature), or sigmoid for multi-label
  int32_t top = 0;               // argmax of probs
  std::vector<int32_t> predicted;  // multi-label: indices with probs >= threshold, ascending
};

struct ModelInfo {
  std::string model_type;         // "bert" | "electra" | "roberta" | "distilbert"
  std::string problem_type;       // "single_label_classification" | "multi_label_classification"
  std::vector<std::string> labels;  // id order
  float temperature = 1.0f;
  size_t hidden_size = 0, num_layers = 0, num_heads = 0, intermediate_size = 0;
  // The longest input in tokens: config.json's max_position_embeddings, less RoBERTa's
  // pad_token_id + 1 (whose positions start there: 514 -> 512 for roberta-base).
  size_t max_position_embeddings = 0;
  std::string weight_type;        // "f32" | "int8": as the file stores them
  std::string precision;          // "f32" | "int8" | "bf16": what the linear layers compute in
  // int8 linear layers, and how many of them hold 7-bit weights (all in [-64, 64], as `maum convert
  // --reduce-range` writes them): read from the values at load; on AVX2 CPUs without VNNI those
  // layers take a faster kernel path (the same results everywhere).
  size_t int8_linear_layers = 0, seven_bit_linear_layers = 0;
  // The decision policy embedded in the file (metadata "maum.policy", JSON; docs/ANALYSIS.md) as
  // read at load, or none: maum::embedded_policy (maum/analysis.h) parses it, so that a program
  // need not open the file again (and cannot read a policy from a file replaced since the load).
  std::optional<std::string> policy_json;
  bool multi_label() const { return problem_type == "multi_label_classification"; }
};

// One line for logs: "bert, 4 layers, hidden 256, 7 labels, f32 weights[, bf16 linear layers]";
// int8 weights with 7-bit layers add " (7-bit in 16 of 16 linear layers)".
std::string describe(const ModelInfo& info);

class Model {
 public:
  // Reads the file once into memory the model owns (so the file may be replaced or even
  // truncated afterwards without affecting it; docs/FORMAT.md) and validates every tensor's dtype
  // and shape. Throws maum::IoError / maum::FormatError.
  static Model load(const std::string& path, const LoadOptions& options = {});

  std::vector<Classification> classify(const std::vector<std::string>& texts,
                                       const ClassifyOptions& options = {}) const;
  // Logits for already-tokenized inputs (ids including [CLS]/[SEP]); type ids default to 0.
  std::vector<std::vector<float>> logits(const std::vector<std::vector<int32_t>>& ids,
                                         const std::vector<std::vector<int32_t>>& type_ids = {},
                                         size_t batch_size = 32) const;

  const ModelInfo& info() const;
  const Tokenizer& tokenizer() const;

  Model(const Model&) = default;
  Model& operator=(const Model&) = default;
  ~Model();

  struct Impl;

 private:
  explicit Model(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace maum

// Internal: the one place that knows maum's model file format (docs/FORMAT.md): a safetensors file
// whose metadata holds the format version, the model config, the tokenizer, the optional policy
// and quantization list, and whose tensors have maum's own names. convert writes it, the engine
// reads it, analysis rewrites its policy, the tokenizer reads its embedded tokenizer: all through
// this module.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/src/safetensors.h"
#include "maum/error.h"

namespace maum::format {

// Metadata keys. "maum.format_version" is the lowest version that describes the file's model:
// "1" for bert/electra (what every earlier build reads), "2" for roberta/distilbert (their
// embeddings and heads differ: a version-1 reader must refuse them). This build reads both.
inline constexpr const char* kVersionKey = "maum.format_version";
inline constexpr int kOldestVersion = 1, kNewestVersion = 2;
inline constexpr const char* kConfigKey = "maum.config";
inline constexpr const char* kTokenizerKey = "maum.tokenizer";
inline constexpr const char* kPolicyKey = "maum.policy";
inline constexpr const char* kQuantizationKey = "maum.quantization";

// Tensor names. Linear layers are PREFIX.weight [out, in] (F32, or I8 with PREFIX.weight_scale
// [out] when quantized) and PREFIX.bias [out]; layer norms PREFIX.weight and PREFIX.bias.
namespace tensor {
inline constexpr const char* kWordEmbeddings = "emb.word";            // [V, E] F32 or I8
inline constexpr const char* kWordEmbeddingScales = "emb.word_scale";  // [V] with I8
inline constexpr const char* kPositionEmbeddings = "emb.position";     // [P, E]
inline constexpr const char* kTokenTypeEmbeddings = "emb.token_type";  // [T, E], absent when T = 0
inline constexpr const char* kEmbeddingNorm = "emb.ln";                // [E]
inline constexpr const char* kEmbeddingProjection = "emb.project";     // linear [H, E], E != H
inline constexpr const char* kHeadDense = "head.dense";                // linear [H, H]
inline constexpr const char* kHeadOut = "head.out";                    // linear [labels, H]
// Encoder layer i: "layer.<i>.<part>".
inline constexpr const char* kQkv = "attn.qkv";         // linear [3H, H]: query, key, value rows
inline constexpr const char* kAttentionOut = "attn.out";  // linear [H, H]
inline constexpr const char* kAttentionNorm = "attn.ln";  // [H]
inline constexpr const char* kFfnUp = "ffn.up";           // linear [I, H]
inline constexpr const char* kFfnDown = "ffn.down";       // linear [H, I]
inline constexpr const char* kFfnNorm = "ffn.ln";         // [H]
std::string layer(size_t index, const char* part);
inline std::string weight(const std::string& prefix) { return prefix + ".weight"; }
inline std::string bias(const std::string& prefix) { return prefix + ".bias"; }
inline std::string scale(const std::string& weight_name) { return weight_name + "_scale"; }
}  // namespace tensor

enum class Activation { kGeluErf, kGeluTanh, kRelu };  // "gelu" | "gelu_tanh" | "relu"
// On the first token's hidden state h: bert_pooler tanh(dense(h)) -> out (BERT's pooler +
// classifier, RoBERTa's classification head); electra gelu_erf(dense(h)) -> out; distilbert
// relu(dense(h)) -> out (pre_classifier -> ReLU -> classifier).
enum class HeadType { kBertPooler, kElectra, kDistilbert };
// How position ids are counted: from 0 for every token (bert, electra, distilbert), or RoBERTa's
// pad_token_id + the running count of non-pad tokens, pad tokens taking pad_token_id.
enum class PositionIds { kFromZero, kAfterPadding };

// The "maum.config" metadata.
struct ModelConfig {
  std::string model_type;  // "bert" | "electra" | "roberta" | "distilbert"
  size_t vocab_size = 0, embedding_size = 0, hidden_size = 0, num_layers = 0, num_heads = 0;
  // type_vocab_size 0 (distilbert): no token type embeddings, type ids are ignored.
  size_t intermediate_size = 0, max_position_embeddings = 0, type_vocab_size = 0;
  Activation hidden_act = Activation::kGeluErf;
  double layer_norm_eps = 1e-12;  // the engine computes with it as float
  int32_t pad_token_id = 0;
  HeadType head = HeadType::kBertPooler;
  std::vector<std::string> labels;
  std::string problem_type;  // "single_label_classification" | "multi_label_classification"
  double temperature = 1.0;  // > 0
  PositionIds positions = PositionIds::kFromZero;  // from model_type (not a key of its own)

  // The longest input in tokens: max_position_embeddings, less pad_token_id + 1 for RoBERTa
  // (whose first token takes position pad_token_id + 1).
  size_t max_tokens() const;
  // The format version this config needs (1 or 2, see kVersionKey).
  int format_version() const;
};

// Parses and checks the config JSON of a file of format `version` (a model_type that needs a newer
// version than the file declares is an error). Throws FormatError naming `file` and the key.
ModelConfig parse_config(const std::string& json, const std::string& file,
                         int version = kNewestVersion);
// The config JSON parse_config reads.
std::string config_json(const ModelConfig& config);
// "gelu" | "gelu_tanh" | "relu" <-> Activation; std::nullopt for other names.
std::optional<Activation> activation_from_name(const std::string& name);

// Opens a maum model file: a safetensors file with a format version this build reads. Throws IoError /
// FormatError (a Hugging Face checkpoint is named as such, with the command to convert it).
std::shared_ptr<const core::SafetensorsFile> open(const std::string& path,
                                                  core::Reading reading = core::Reading::kWhole);
ModelConfig read_config(const core::SafetensorsFile& file);
// The embedded tokenizer (tokenizer.json text).
const std::string& tokenizer_json(const core::SafetensorsFile& file);
// parse(tokenizer_json(file)), with a FormatError from parse re-thrown naming the file and key: how
// the tokenizer module and the engine (which has the file open already) both read it.
template <class Parse>
auto parse_tokenizer(const core::SafetensorsFile& file, Parse&& parse) {
  const std::string& json = tokenizer_json(file);
  try {
    return parse(json);
  } catch (const FormatError& e) {
    throw FormatError(file.path() + ": metadata \"" + kTokenizerKey + "\": " + e.what());
  }
}
// The embedded policy JSON, if any.
std::optional<std::string> policy_json(const core::SafetensorsFile& file);
// Names of the int8 tensors ("maum.quantization"), empty for an F32 file; and its JSON.
std::set<std::string> quantized_tensors(const core::SafetensorsFile& file);
std::string quantization_json(const std::vector<std::string>& tensor_names);

// Writes a new model file with every metadata key and tensor of `writer`'s source plus the format
// keys: what convert calls with its tensors already added.
void write(core::SafetensorsWriter& writer, const ModelConfig& config,
           const std::string& tokenizer_json, const std::optional<std::string>& policy_json,
           const std::vector<std::string>& quantized, const std::string& out_path);

// Rewrites `path` to `out_path` (may be the same; written to a temporary file and renamed) with
// `policy_json` as the policy and, when given, `temperature` as the config's temperature.
void rewrite_policy(const std::string& path, const std::string& policy_json,
                    std::optional<double> temperature, const std::string& out_path);

}  // namespace maum::format

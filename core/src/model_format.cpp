// The maum model file format (core/src/model_format.h, docs/FORMAT.md).
#include "core/src/model_format.h"
#include "core/src/temperature.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include <nlohmann/json.hpp>

#include "maum/error.h"

namespace maum::format {
namespace {

using nlohmann::json;

class ConfigReader {
 public:
  ConfigReader(const json& j, const std::string& file) : j_(j), file_(file) {}

  const json& field(const char* key) const {
    auto it = j_.find(key);
    if (it == j_.end()) fail(key, "is missing");
    return *it;
  }
  size_t positive(const char* key) const {
    const json& v = field(key);
    if (!v.is_number_integer() || v.get<int64_t>() <= 0) fail(key, "must be a positive integer");
    return static_cast<size_t>(v.get<int64_t>());
  }
  std::string string(const char* key) const {
    const json& v = field(key);
    if (!v.is_string()) fail(key, "must be a string");
    return v.get<std::string>();
  }
  double number(const char* key) const {
    const json& v = field(key);
    if (!v.is_number() || !std::isfinite(v.get<double>())) fail(key, "must be a finite number");
    return v.get<double>();
  }
  [[noreturn]] void fail(const char* key, const std::string& problem) const {
    throw FormatError(file_ + ": maum.config: \"" + key + "\" " + problem);
  }

 private:
  const json& j_;
  const std::string& file_;
};

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::kGeluErf: return "gelu";
    case Activation::kGeluTanh: return "gelu_tanh";
    case Activation::kRelu: return "relu";
  }
  return "gelu";
}

const char* head_name(HeadType h) {
  switch (h) {
    case HeadType::kBertPooler: return "bert_pooler";
    case HeadType::kElectra: return "electra";
    case HeadType::kDistilbert: return "distilbert";
  }
  return "bert_pooler";
}

// The file's format version, if this build reads it.
int file_version(const core::SafetensorsFile& file) {
  const std::string& version = file.meta(kVersionKey);
  for (int v = kOldestVersion; v <= kNewestVersion; ++v)
    if (version == std::to_string(v)) return v;
  throw FormatError(file.path() + ": " + kVersionKey + " is \"" + version + "\"; this build reads " +
                    std::to_string(kOldestVersion) + " to " + std::to_string(kNewestVersion));
}

const char* kQuantizationScheme = "int8_symmetric_per_channel";

}  // namespace

std::string tensor::layer(size_t index, const char* part) {
  return "layer." + std::to_string(index) + "." + part;
}

std::optional<Activation> activation_from_name(const std::string& name) {
  if (name == "gelu") return Activation::kGeluErf;
  if (name == "gelu_tanh") return Activation::kGeluTanh;
  if (name == "relu") return Activation::kRelu;
  return std::nullopt;
}

ModelConfig parse_config(const std::string& text, const std::string& file, int version) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw FormatError(file + ": maum.config is not valid JSON: " + e.what());
  }
  if (!j.is_object()) throw FormatError(file + ": maum.config must be a JSON object");
  ConfigReader r(j, file);
  ModelConfig c;
  c.model_type = r.string("model_type");
  if (c.model_type != "bert" && c.model_type != "electra" && c.model_type != "roberta" &&
      c.model_type != "distilbert")
    r.fail("model_type",
           "must be \"bert\", \"electra\", \"roberta\" or \"distilbert\", not \"" + c.model_type + "\"");
  const bool family_v2 = c.model_type == "roberta" || c.model_type == "distilbert";
  if (family_v2 && version < 2)
    r.fail("model_type", "\"" + c.model_type + "\" needs " + kVersionKey +
                             " 2, but the file declares " + std::to_string(version));
  if (c.model_type == "roberta") c.positions = PositionIds::kAfterPadding;
  c.vocab_size = r.positive("vocab_size");
  c.embedding_size = r.positive("embedding_size");
  c.hidden_size = r.positive("hidden_size");
  c.num_layers = r.positive("num_layers");
  c.num_heads = r.positive("num_heads");
  if (c.hidden_size % c.num_heads != 0) r.fail("num_heads", "must divide hidden_size");
  c.intermediate_size = r.positive("intermediate_size");
  c.max_position_embeddings = r.positive("max_position_embeddings");
  if (c.model_type == "distilbert") {
    // DistilBERT has no token type embeddings.
    const json& t = r.field("type_vocab_size");
    if (!t.is_number_integer() || t.get<int64_t>() != 0) r.fail("type_vocab_size", "must be 0 for distilbert");
    c.type_vocab_size = 0;
  } else {
    c.type_vocab_size = r.positive("type_vocab_size");
  }
  std::string act = r.string("hidden_act");
  const std::optional<Activation> activation = activation_from_name(act);
  if (!activation) r.fail("hidden_act", "must be gelu, gelu_tanh or relu, not \"" + act + "\"");
  c.hidden_act = *activation;
  double eps = r.number("layer_norm_eps");
  if (eps <= 0) r.fail("layer_norm_eps", "must be positive");
  c.layer_norm_eps = eps;
  if (j.contains("pad_token_id") && j["pad_token_id"].is_number_integer())
    c.pad_token_id = j["pad_token_id"].get<int32_t>();
  if (c.positions == PositionIds::kAfterPadding) {
    // Positions pad_token_id (pad tokens) .. pad_token_id + tokens must exist, for at least the
    // two special tokens.
    const json& pad = r.field("pad_token_id");
    if (!pad.is_number_integer() || pad.get<int64_t>() < 0 ||
        static_cast<uint64_t>(pad.get<int64_t>()) + 3 > c.max_position_embeddings)
      r.fail("pad_token_id", "must be a non-negative integer below max_position_embeddings - 2 (" +
                                 std::to_string(c.max_position_embeddings) + " - 2) for roberta");
  }
  std::string head = r.string("head");
  if (head == "bert_pooler") c.head = HeadType::kBertPooler;
  else if (head == "electra") c.head = HeadType::kElectra;
  else if (head == "distilbert" && version >= 2) c.head = HeadType::kDistilbert;
  else r.fail("head", "must be bert_pooler, electra" + std::string(version >= 2 ? " or distilbert" : "") +
                          ", not \"" + head + "\"");
  const json& labels = r.field("labels");
  if (!labels.is_array() || labels.empty()) r.fail("labels", "must be a non-empty array of strings");
  std::set<std::string> seen;
  for (const auto& l : labels) {
    if (!l.is_string()) r.fail("labels", "must be a non-empty array of strings");
    if (!seen.insert(l.get<std::string>()).second)
      r.fail("labels", "names \"" + l.get<std::string>() + "\" twice (label names must be distinct)");
    c.labels.push_back(l.get<std::string>());
  }
  c.problem_type = r.string("problem_type");
  if (c.problem_type != "single_label_classification" &&
      c.problem_type != "multi_label_classification")
    r.fail("problem_type", "must be single_label_classification or multi_label_classification");
  // Checked as the float the engine divides by (1e-300 is a float 0).
  c.temperature = static_cast<float>(r.number("temperature"));
  if (!core::valid_temperature(c.temperature))
    r.fail("temperature", std::string("must be within ") + core::temperature_range());
  return c;
}

size_t ModelConfig::max_tokens() const {
  if (positions == PositionIds::kAfterPadding)
    return max_position_embeddings - static_cast<size_t>(pad_token_id) - 1;  // checked by parse_config
  return max_position_embeddings;
}

int ModelConfig::format_version() const {
  return model_type == "roberta" || model_type == "distilbert" || type_vocab_size == 0 ||
                 head == HeadType::kDistilbert
             ? 2
             : 1;
}

std::string config_json(const ModelConfig& c) {
  const json j = {{"model_type", c.model_type},
                  {"vocab_size", c.vocab_size},
                  {"embedding_size", c.embedding_size},
                  {"hidden_size", c.hidden_size},
                  {"num_layers", c.num_layers},
                  {"num_heads", c.num_heads},
                  {"intermediate_size", c.intermediate_size},
                  {"hidden_act", activation_name(c.hidden_act)},
                  {"layer_norm_eps", c.layer_norm_eps},
                  {"max_position_embeddings", c.max_position_embeddings},
                  {"type_vocab_size", c.type_vocab_size},
                  {"pad_token_id", c.pad_token_id},
                  {"head", head_name(c.head)},
                  {"labels", c.labels},
                  {"problem_type", c.problem_type},
                  {"temperature", c.temperature}};
  return j.dump();
}

std::shared_ptr<const core::SafetensorsFile> open(const std::string& path, core::Reading reading) {
  auto file = core::SafetensorsFile::open(path, reading);
  if (!file->metadata().count(kVersionKey))
    throw FormatError(path + ": not a maum model file (no \"" + kVersionKey +
                      "\" metadata); a Hugging Face checkpoint must be converted first: maum "
                      "convert HF_DIR OUT.safetensors");
  file_version(*file);
  return file;
}

ModelConfig read_config(const core::SafetensorsFile& file) {
  return parse_config(file.meta(kConfigKey), file.path(), file_version(file));
}

const std::string& tokenizer_json(const core::SafetensorsFile& file) {
  return file.meta(kTokenizerKey);
}

std::optional<std::string> policy_json(const core::SafetensorsFile& file) {
  auto it = file.metadata().find(kPolicyKey);
  if (it == file.metadata().end()) return std::nullopt;
  return it->second;
}

std::set<std::string> quantized_tensors(const core::SafetensorsFile& file) {
  std::set<std::string> names;
  auto it = file.metadata().find(kQuantizationKey);
  if (it == file.metadata().end()) return names;
  nlohmann::json q;
  try {
    q = nlohmann::json::parse(it->second);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(file.path() + ": maum.quantization is not valid JSON: " + e.what());
  }
  if (!q.is_object() || q.value("scheme", "") != "int8_symmetric_per_channel" ||
      !q.contains("tensors") || !q["tensors"].is_array())
    throw FormatError(file.path() +
                      ": maum.quantization must be {\"scheme\": \"int8_symmetric_per_channel\", "
                      "\"tensors\": [names]}");
  for (const auto& n : q["tensors"]) {
    if (!n.is_string()) throw FormatError(file.path() + ": maum.quantization.tensors must be strings");
    names.insert(n.get<std::string>());
  }
  return names;
}

std::string quantization_json(const std::vector<std::string>& tensor_names) {
  return json{{"scheme", kQuantizationScheme}, {"rounding", "nearest_even"}, {"tensors", tensor_names}}
      .dump();
}

void write(core::SafetensorsWriter& writer, const ModelConfig& config,
           const std::string& tokenizer_json, const std::optional<std::string>& policy_json,
           const std::vector<std::string>& quantized, const std::string& out_path) {
  writer.set_metadata(kVersionKey, std::to_string(config.format_version()));
  writer.set_metadata(kConfigKey, config_json(config));
  writer.set_metadata(kTokenizerKey, tokenizer_json);
  if (policy_json) writer.set_metadata(kPolicyKey, *policy_json);
  if (!quantized.empty()) writer.set_metadata(kQuantizationKey, quantization_json(quantized));
  writer.write(out_path);
}

void rewrite_policy(const std::string& path, const std::string& policy_json,
                    std::optional<double> temperature, const std::string& out_path) {
  const auto file = core::SafetensorsFile::open(path);
  core::SafetensorsWriter writer;
  for (const auto& kv : file->metadata()) {
    if (kv.first == kConfigKey && temperature) {
      // Only the temperature changes: the other keys are kept as written (unknown ones too).
      json config;
      try {
        config = json::parse(kv.second);
      } catch (const json::exception& e) {
        throw FormatError(path + ": metadata \"" + kConfigKey + "\" is malformed JSON: " + e.what());
      }
      if (!config.is_object())
        throw FormatError(path + ": metadata \"" + kConfigKey + "\" is not a JSON object");
      config["temperature"] = *temperature;
      writer.set_metadata(kv.first, config.dump());
    } else if (kv.first != kPolicyKey) {
      writer.set_metadata(kv.first, kv.second);
    }
  }
  writer.set_metadata(kPolicyKey, policy_json);
  // Keep the tensors in their file order (the data layout a reader may expect to be unchanged).
  std::vector<const core::TensorView*> views;
  for (const auto& kv : file->tensors()) views.push_back(&kv.second);
  std::sort(views.begin(), views.end(), [](const core::TensorView* a, const core::TensorView* b) {
    return a->data < b->data;
  });
  for (const core::TensorView* v : views) writer.add(v->name, v->dtype, v->shape, v->data, v->nbytes);
  // The writer renames a temporary file over out_path, so rewriting `path` in place is safe even
  // though `file` still maps the old contents.
  writer.write(out_path);
}

}  // namespace maum::format

#include "maum/convert.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "convert/src/quantize.h"
#include "convert/src/tf_h5.h"
#include "convert/src/torch_pickle.h"
#include "core/src/model_format.h"
#include "core/src/safetensors.h"
#include "core/src/temperature.h"
#include "maum/error.h"
#include "maum/tokenizer.h"

namespace maum {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

json read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path + ": cannot open");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw FormatError(path + ": not valid JSON: " + e.what());
  }
}

// The weights file convert reads from a folder: the first present of model.safetensors,
// pytorch_model.bin, tf_model.h5 (the order transformers' from_pretrained prefers them in).
struct WeightsFile {
  enum Kind { kSafetensors, kTorchZip, kTfH5 } kind;
  std::string path;
  // How many bytes of tensors one byte of the file can hold at most (zip: deflate's ~1030:1; HDF5
  // datasets may be deflate-filtered too).
  double max_expansion() const { return kind == kSafetensors ? 1 : 1100; }
};

std::optional<WeightsFile> find_weights(const std::string& dir) {
  for (const auto& [kind, name] : {std::pair{WeightsFile::kSafetensors, "model.safetensors"},
                                   std::pair{WeightsFile::kTorchZip, "pytorch_model.bin"},
                                   std::pair{WeightsFile::kTfH5, "tf_model.h5"}})
    if (fs::exists(dir + "/" + name)) return WeightsFile{kind, dir + "/" + name};
  return std::nullopt;
}

// The converter's view of config.json (+ calibration.json), already normalized to FORMAT.md.
struct HfConfig {
  std::string model_type, hidden_act, head, problem_type;
  int64_t vocab_size = 0, embedding_size = 0, hidden_size = 0, num_layers = 0, num_heads = 0,
          intermediate_size = 0, max_position_embeddings = 0, type_vocab_size = 2, pad_token_id = 0;
  bool embedding_size_given = false;
  double layer_norm_eps = 1e-12, temperature = 1.0;
  std::vector<std::string> labels;
};

HfConfig read_config(const std::string& dir) {
  const std::string path = dir + "/config.json";
  if (!fs::exists(path)) throw IoError(path + ": missing (not a Hugging Face model folder?)");
  json j = read_json(path);
  if (!j.is_object()) throw FormatError(path + ": not a JSON object");
  auto fail = [&](const std::string& key, const std::string& what) -> void {
    throw FormatError(path + ": \"" + key + "\" " + what);
  };
  auto positive = [&](const std::string& key, bool required, int64_t fallback) -> int64_t {
    if (!j.contains(key) || j[key].is_null()) {
      if (required) fail(key, "is missing");
      return fallback;
    }
    if (!j[key].is_number_integer() || j[key].get<int64_t>() <= 0) fail(key, "must be a positive integer");
    if (j[key].get<int64_t>() > (int64_t{1} << 31)) fail(key, "is implausibly large");
    return j[key].get<int64_t>();
  };
  HfConfig c;
  if (!j.contains("model_type")) fail("model_type", "is missing");
  if (!j["model_type"].is_string()) fail("model_type", "must be a string");
  c.model_type = j["model_type"].get<std::string>();
  if (c.model_type != "bert" && c.model_type != "electra" && c.model_type != "roberta" &&
      c.model_type != "distilbert")
    fail("model_type", "is \"" + c.model_type + "\"; supported: bert, electra, roberta, distilbert");
  // DistilBertConfig names its keys differently (dim, hidden_dim, n_heads, n_layers, activation)
  // and has no token types; its LayerNorms always use eps 1e-12.
  const bool distil = c.model_type == "distilbert";
  const std::string hidden_key = distil ? "dim" : "hidden_size", heads_key = distil ? "n_heads" : "num_attention_heads";
  c.hidden_size = positive(hidden_key, true, 0);
  c.num_layers = positive(distil ? "n_layers" : "num_hidden_layers", true, 0);
  c.num_heads = positive(heads_key, true, 0);
  c.intermediate_size = positive(distil ? "hidden_dim" : "intermediate_size", true, 0);
  c.vocab_size = positive("vocab_size", true, 0);
  c.max_position_embeddings = positive("max_position_embeddings", true, 0);
  c.type_vocab_size = distil ? 0 : positive("type_vocab_size", false, 2);
  if (c.hidden_size % c.num_heads != 0)
    fail(hidden_key, "(" + std::to_string(c.hidden_size) + ") is not a multiple of " + heads_key + " (" +
                         std::to_string(c.num_heads) + ")");
  c.embedding_size_given = j.contains("embedding_size") && !j["embedding_size"].is_null();
  c.embedding_size = c.model_type == "electra" ? positive("embedding_size", false, 0) : c.hidden_size;
  // RobertaConfig's default padding id is 1.
  c.pad_token_id = c.model_type == "roberta" ? 1 : 0;
  if (j.contains("pad_token_id") && !j["pad_token_id"].is_null()) {
    if (!j["pad_token_id"].is_number_integer() || j["pad_token_id"].get<int64_t>() < 0 ||
        j["pad_token_id"].get<int64_t>() >= c.vocab_size)
      fail("pad_token_id", "must be a non-negative integer below vocab_size");
    c.pad_token_id = j["pad_token_id"].get<int64_t>();
  }
  if (c.model_type == "roberta" && c.pad_token_id + 3 > c.max_position_embeddings)
    fail("max_position_embeddings", "(" + std::to_string(c.max_position_embeddings) +
                                        ") leaves no positions after pad_token_id + 1 (RoBERTa positions start there)");
  if (!distil && j.contains("layer_norm_eps")) {
    if (!j["layer_norm_eps"].is_number() || !(j["layer_norm_eps"].get<double>() > 0))
      fail("layer_norm_eps", "must be a positive number");
    c.layer_norm_eps = j["layer_norm_eps"].get<double>();
  }
  std::string act = "gelu";
  const std::string act_key = distil ? "activation" : "hidden_act";
  if (j.contains(act_key)) {
    if (!j[act_key].is_string()) fail(act_key, "must be a string");
    act = j[act_key].get<std::string>();
  }
  if (act == "gelu") c.hidden_act = "gelu";
  else if (act == "gelu_new" || act == "gelu_pytorch_tanh" || act == "gelu_fast") c.hidden_act = "gelu_tanh";
  else if (act == "relu") c.hidden_act = "relu";
  else fail(act_key, "is \"" + act + "\"; supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu");
  // RoBERTa's classification head (dense -> tanh -> out_proj) is the BERT pooler's math.
  c.head = c.model_type == "electra" ? "electra" : distil ? "distilbert" : "bert_pooler";

  c.problem_type = "single_label_classification";
  if (j.contains("problem_type") && !j["problem_type"].is_null()) {
    if (!j["problem_type"].is_string()) fail("problem_type", "must be a string");
    c.problem_type = j["problem_type"].get<std::string>();
    if (c.problem_type != "single_label_classification" && c.problem_type != "multi_label_classification")
      fail("problem_type", "is \"" + c.problem_type +
                               "\"; supported: single_label_classification, multi_label_classification");
  }
  if (j.contains("id2label") && !j["id2label"].is_null()) {
    const json& m = j["id2label"];
    if (!m.is_object() || m.empty()) fail("id2label", "must be a non-empty object {\"0\": label, ...}");
    c.labels.resize(m.size());
    std::vector<bool> seen(m.size(), false);
    std::set<std::string> names;
    for (const auto& [k, v] : m.items()) {
      size_t idx = 0;
      bool numeric = !k.empty() && k.size() < 10 && k.find_first_not_of("0123456789") == std::string::npos;
      if (numeric) idx = std::stoul(k);
      if (!numeric || idx >= m.size() || seen[idx])
        fail("id2label", "keys must be the ids 0.." + std::to_string(m.size() - 1) + " (got \"" + k + "\")");
      if (!v.is_string()) fail("id2label", "values must be strings");
      if (!names.insert(v.get<std::string>()).second)
        fail("id2label", "names \"" + v.get<std::string>() + "\" twice (label names must be distinct)");
      seen[idx] = true;
      c.labels[idx] = v.get<std::string>();
    }
  } else {
    // Checked before any label name is made: each label is a classifier row of hidden_size
    // weights, 2 bytes each at the least (F16/BF16), that the weights file must hold (a torch
    // zip's entries inflate at most ~1100:1).
    const int64_t n = positive("num_labels", false, 2);
    std::error_code ec;
    const std::optional<WeightsFile> weights = find_weights(dir);
    const uintmax_t bytes = weights ? fs::file_size(weights->path, ec) : 0;
    if (weights && !ec && static_cast<double>(n) * static_cast<double>(c.hidden_size) * 2 >
                              static_cast<double>(bytes) * weights->max_expansion())
      fail("num_labels", "(" + std::to_string(n) + ") needs a classifier larger than the weights file (" +
                             std::to_string(bytes) + " bytes)");
    for (int64_t i = 0; i < n; ++i) c.labels.push_back("LABEL_" + std::to_string(i));
  }

  const std::string cal = dir + "/calibration.json";
  if (fs::exists(cal)) {
    json cj = read_json(cal);
    // Checked as the float maum.config's reader narrows it to.
    if (!cj.is_object() || !cj.contains("temperature") || !cj["temperature"].is_number() ||
        !core::valid_temperature(static_cast<float>(cj["temperature"].get<double>())))
      throw FormatError(cal + ": must be {\"temperature\": T} with T in " + core::temperature_range());
    c.temperature = cj["temperature"].get<double>();
  }
  return c;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, bits;
  if (exp == 0) {
    if (mant == 0) bits = sign;
    else {  // subnormal: normalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) bits = sign | 0x7f800000u | (mant << 13);
  else bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// The checkpoint's tensors, whatever the container, as name -> (dtype, shape, bytes).
struct SourceTensor {
  core::DType dtype;
  std::vector<int64_t> shape;
  const uint8_t* data;
  size_t nbytes;
};

struct Checkpoint {
  std::string path;
  std::map<std::string, SourceTensor> tensors;
  std::shared_ptr<const core::SafetensorsFile> st;               // keeps the mapping alive
  std::map<std::string, convert::LoadedTensor> loaded;           // owns pickle-loaded bytes
};

// What config.json's model can hold, as a bound on a torch checkpoint's storages: its parameter
// count (the embeddings, every layer and the head), doubled for the tensors maum skips (an MLM
// head is as large as the word embeddings), at 8 bytes (F64) each, plus 64 MB.
uint64_t max_checkpoint_bytes(const HfConfig& c) {
  const double V = c.vocab_size, E = c.embedding_size > 0 ? c.embedding_size : c.hidden_size, H = c.hidden_size,
               P = c.max_position_embeddings, T = c.type_vocab_size, I = c.intermediate_size,
               L = c.num_layers, N = static_cast<double>(c.labels.size());
  const double params = (V + P + T + 2) * E + (H * E + H) + L * (4 * H * H + 2 * H * I + 9 * H + I) +
                        (H * H + H) + (N * H + N);
  const double bytes = 2 * params * 8 + (64ull << 20);
  return bytes >= 1.8e19 ? convert::kNoLimit : static_cast<uint64_t>(bytes);
}

Checkpoint read_checkpoint(const std::string& dir, uint64_t max_bytes) {
  Checkpoint c;
  const std::optional<WeightsFile> weights = find_weights(dir);
  if (!weights) {
    // Weights maum cannot read: say how to get ones it can, from the user's own transformers.
    for (const char* other : {"flax_model.msgpack", "model.safetensors.index.json",
                              "pytorch_model.bin.index.json", "tf_model.h5.index.json"})
      if (fs::exists(dir + "/" + other))
        throw IoError(dir + ": no model.safetensors, pytorch_model.bin or tf_model.h5, only " + other +
                      ", which maum cannot read; save the model as one safetensors file first, e.g. "
                      "python3 -c \"from transformers import "
                      "AutoModelForSequenceClassification as M; M.from_pretrained('" + dir +
                      "'" + (std::string(other) == "flax_model.msgpack" ? ", from_flax=True"
                             : std::string(other) == "tf_model.h5.index.json" ? ", from_tf=True"
                                                                             : "") +
                      ").save_pretrained('" + dir + "', max_shard_size='100GB')\"");
    throw IoError(dir + ": no model.safetensors, pytorch_model.bin or tf_model.h5");
  }
  c.path = weights->path;
  switch (weights->kind) {
    case WeightsFile::kSafetensors:
      c.st = core::SafetensorsFile::open(c.path);
      for (const auto& [name, t] : c.st->tensors()) c.tensors[name] = {t.dtype, t.shape, t.data, t.nbytes};
      return c;
    case WeightsFile::kTorchZip:
      c.loaded = convert::load_torch_zip(c.path, max_bytes);
      break;
    case WeightsFile::kTfH5:
      c.loaded = convert::load_tf_h5(c.path, max_bytes);
      break;
  }
  for (const auto& [name, t] : c.loaded) c.tensors[name] = {t.dtype, t.shape, t.bytes.data(), t.bytes.size()};
  return c;
}

// Each family's HF tensor names (after the model prefix) for an encoder layer (`layer` + i + "."
// + part) and the head.
struct LayerNames {
  const char *layer, *query, *key, *value, *attention_out, *attention_norm, *ffn_up, *ffn_down, *ffn_norm;
  const char *head_dense, *head_out;
};

const LayerNames& layer_names(const std::string& model_type) {
  static const LayerNames bert{"encoder.layer.", "attention.self.query", "attention.self.key",
                               "attention.self.value", "attention.output.dense", "attention.output.LayerNorm",
                               "intermediate.dense", "output.dense", "output.LayerNorm",
                               "pooler.dense", "classifier"};
  // ELECTRA and RoBERTa: BERT's layers; ElectraClassificationHead / RobertaClassificationHead.
  static const LayerNames electra = [] {
    LayerNames n = bert;
    n.head_dense = "classifier.dense";
    n.head_out = "classifier.out_proj";
    return n;
  }();
  static const LayerNames distilbert{"transformer.layer.", "attention.q_lin", "attention.k_lin",
                                     "attention.v_lin", "attention.out_lin", "sa_layer_norm",
                                     "ffn.lin1", "ffn.lin2", "output_layer_norm",
                                     "pre_classifier", "classifier"};
  if (model_type == "bert") return bert;
  if (model_type == "distilbert") return distilbert;
  return electra;
}

// Maps HF names to tensors, checks shapes, widens to F32 and records which names were used.
class Mapper {
 public:
  Mapper(const Checkpoint& ckpt, const std::string& model_type) : ckpt_(ckpt), prefix_(model_type + ".") {}

  // First existing of `names` (each tried with and without the model prefix) as F32 data.
  std::vector<float> f32(const std::vector<std::string>& names, const std::vector<int64_t>& shape) {
    for (const auto& n : names)
      for (const std::string& full : {prefix_ + n, n}) {
        auto it = ckpt_.tensors.find(full);
        if (it == ckpt_.tensors.end()) continue;
        used_.insert(full);
        return widen(full, it->second, shape);
      }
    throw FormatError(ckpt_.path + ": missing tensor \"" + prefix_ + names.front() + "\" (expected " +
                      shape_string(shape) + ")");
  }

  bool has(const std::string& n) const {
    return ckpt_.tensors.count(prefix_ + n) || ckpt_.tensors.count(n);
  }

  const SourceTensor* find(const std::string& n) const {
    for (const std::string& full : {prefix_ + n, n}) {
      auto it = ckpt_.tensors.find(full);
      if (it != ckpt_.tensors.end()) return &it->second;
    }
    return nullptr;
  }

  std::vector<std::string> unused() const {
    std::vector<std::string> out;
    for (const auto& [name, t] : ckpt_.tensors)
      if (!used_.count(name)) out.push_back(name);
    return out;
  }

 private:
  std::vector<float> widen(const std::string& name, const SourceTensor& t, const std::vector<int64_t>& shape) {
    if (t.shape != shape)
      throw FormatError(ckpt_.path + ": tensor \"" + name + "\" has shape " + shape_string(t.shape) +
                        ", expected " + shape_string(shape) + " from config.json");
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    std::vector<float> out(n);
    switch (t.dtype) {
      case core::DType::F32:
        std::memcpy(out.data(), t.data, n * 4);
        break;
      case core::DType::F64:
        for (size_t i = 0; i < n; ++i) {
          double d;
          std::memcpy(&d, t.data + 8 * i, 8);
          out[i] = static_cast<float>(d);
        }
        break;
      case core::DType::F16:
        for (size_t i = 0; i < n; ++i) {
          uint16_t h;
          std::memcpy(&h, t.data + 2 * i, 2);
          out[i] = half_to_float(h);
        }
        break;
      case core::DType::BF16:
        for (size_t i = 0; i < n; ++i) {
          uint16_t h;
          std::memcpy(&h, t.data + 2 * i, 2);
          uint32_t bits = static_cast<uint32_t>(h) << 16;
          std::memcpy(&out[i], &bits, 4);
        }
        break;
      default:
        throw FormatError(ckpt_.path + ": tensor \"" + name + "\" has dtype " + core::dtype_name(t.dtype) +
                          ", expected a floating-point dtype (F32, F16, BF16 or F64)");
    }
    return out;
  }

  const Checkpoint& ckpt_;
  std::string prefix_;
  std::set<std::string> used_;
};

// The folder's tokenizer (WordPiece or byte-level BPE), serialized for the model file.
std::string read_tokenizer(const std::string& dir) { return Tokenizer::from_dir(dir).serialize(); }

}  // namespace

ConvertReport convert_hf_model(const std::string& hf_dir, const std::string& out_path, const ConvertOptions& options) {
  if (options.quantize != "none" && options.quantize != "int8")
    throw InvalidArgument("--quantize must be none or int8, got \"" + options.quantize + "\"");
  if (options.reduce_range && options.quantize != "int8")
    throw InvalidArgument("--reduce-range applies to --quantize int8 only");
  HfConfig c = read_config(hf_dir);
  // The policy is checked against the labels (by the caller's function) before the weights are
  // loaded, so that an invalid policy fails here rather than in every later run.
  std::optional<std::string> policy;
  if (options.policy) policy = options.policy(c.labels);
  Checkpoint ckpt = read_checkpoint(hf_dir, max_checkpoint_bytes(c));
  Mapper m(ckpt, c.model_type);
  if (c.model_type == "electra" && !c.embedding_size_given) {
    // HF falls back to its class default; the checkpoint itself says what it is.
    const SourceTensor* word = m.find("embeddings.word_embeddings.weight");
    c.embedding_size = word && word->shape.size() == 2 ? word->shape[1] : 128;
  }

  const int64_t V = c.vocab_size, E = c.embedding_size, H = c.hidden_size, P = c.max_position_embeddings,
                T = c.type_vocab_size, I = c.intermediate_size, N = static_cast<int64_t>(c.labels.size());
  core::SafetensorsWriter writer;
  std::vector<std::string> quantized;
  size_t tensors = 0;
  auto put = [&](const std::string& name, const std::vector<int64_t>& shape, const std::vector<float>& v) {
    writer.add(name, core::DType::F32, shape, v.data(), v.size() * sizeof(float));
    ++tensors;
  };
  // Linear layer: [out, in] weight + [out] bias; encoder ones are quantized on request.
  namespace t = format::tensor;
  auto put_linear = [&](const std::string& name, std::vector<float> w, const std::vector<float>& b, int64_t out,
                        int64_t in, bool encoder) {
    if (encoder && options.quantize == "int8") {
      convert::QuantizedMatrix q =
          convert::quantize_rows_int8(w.data(), static_cast<size_t>(out), static_cast<size_t>(in),
                                      options.reduce_range ? convert::kReducedRangeLevels : 127);
      writer.add(t::weight(name), core::DType::I8, {out, in}, q.values.data(), q.values.size());
      writer.add(t::scale(t::weight(name)), core::DType::F32, {out}, q.scales.data(), q.scales.size() * sizeof(float));
      quantized.push_back(t::weight(name));
      tensors += 2;
    } else {
      put(t::weight(name), {out, in}, w);
    }
    put(t::bias(name), {out}, b);
  };
  auto ln = [&](const std::string& hf, int64_t n, const std::string& name) {
    put(t::weight(name), {n}, m.f32({hf + ".weight", hf + ".gamma"}, {n}));
    put(t::bias(name), {n}, m.f32({hf + ".bias", hf + ".beta"}, {n}));
  };

  if (options.quantize == "int8") {
    // The word embeddings are most of an int8 file otherwise (BERT-base: 94 MB of 180); only the
    // looked-up rows are dequantized at run time, so per-row int8 costs nothing measurable.
    std::vector<float> word = m.f32({"embeddings.word_embeddings.weight"}, {V, E});
    convert::QuantizedMatrix q = convert::quantize_rows_int8(word.data(), static_cast<size_t>(V), static_cast<size_t>(E));
    writer.add(t::kWordEmbeddings, core::DType::I8, {V, E}, q.values.data(), q.values.size());
    writer.add(t::kWordEmbeddingScales, core::DType::F32, {V}, q.scales.data(), q.scales.size() * sizeof(float));
    quantized.push_back(t::kWordEmbeddings);
    tensors += 2;
  } else {
    put(t::kWordEmbeddings, {V, E}, m.f32({"embeddings.word_embeddings.weight"}, {V, E}));
  }
  put(t::kPositionEmbeddings, {P, E}, m.f32({"embeddings.position_embeddings.weight"}, {P, E}));
  if (T > 0) put(t::kTokenTypeEmbeddings, {T, E}, m.f32({"embeddings.token_type_embeddings.weight"}, {T, E}));
  ln("embeddings.LayerNorm", E, t::kEmbeddingNorm);
  if (E != H) {
    if (c.model_type != "electra")
      throw FormatError(hf_dir + "/config.json: embedding_size differs from hidden_size, which only ELECTRA supports");
    put_linear(t::kEmbeddingProjection, m.f32({"embeddings_project.weight"}, {H, E}), m.f32({"embeddings_project.bias"}, {H}),
               H, E, false);
  }
  const LayerNames& names = layer_names(c.model_type);
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string hf = names.layer + std::to_string(i) + ".";
    const auto me = [i](const char* part) { return t::layer(static_cast<size_t>(i), part); };
    std::vector<float> qkv_w, qkv_b;
    for (const char* part : {names.query, names.key, names.value}) {
      auto w = m.f32({hf + part + ".weight"}, {H, H});
      auto b = m.f32({hf + part + ".bias"}, {H});
      qkv_w.insert(qkv_w.end(), w.begin(), w.end());
      qkv_b.insert(qkv_b.end(), b.begin(), b.end());
    }
    put_linear(me(t::kQkv), std::move(qkv_w), qkv_b, 3 * H, H, true);
    put_linear(me(t::kAttentionOut), m.f32({hf + names.attention_out + ".weight"}, {H, H}),
               m.f32({hf + names.attention_out + ".bias"}, {H}), H, H, true);
    ln(hf + names.attention_norm, H, me(t::kAttentionNorm));
    put_linear(me(t::kFfnUp), m.f32({hf + names.ffn_up + ".weight"}, {I, H}),
               m.f32({hf + names.ffn_up + ".bias"}, {I}), I, H, true);
    put_linear(me(t::kFfnDown), m.f32({hf + names.ffn_down + ".weight"}, {H, I}),
               m.f32({hf + names.ffn_down + ".bias"}, {H}), H, I, true);
    ln(hf + names.ffn_norm, H, me(t::kFfnNorm));
  }
  const std::string dense = names.head_dense, out = names.head_out;
  if (const SourceTensor* cls = m.find(out + ".weight"); cls && cls->shape.size() == 2 && cls->shape[0] != N)
    throw FormatError(ckpt.path + ": \"" + out + ".weight\" has " + std::to_string(cls->shape[0]) +
                      " rows but config.json has " + std::to_string(N) + " labels (id2label/num_labels)");
  put_linear(t::kHeadDense, m.f32({dense + ".weight"}, {H, H}), m.f32({dense + ".bias"}, {H}), H, H, false);
  put_linear(t::kHeadOut, m.f32({out + ".weight"}, {N, H}), m.f32({out + ".bias"}, {N}), N, H, false);

  ConvertReport report;
  report.model_type = c.model_type;
  report.weights_file = ckpt.path;
  // Tensors the classifier does not use are skipped, but a layer beyond num_hidden_layers means
  // config.json and the weights disagree: converting would silently drop part of the model.
  static const std::regex layer_re(R"((?:^|\.)(?:encoder|transformer)\.layer\.(\d+)\.)");
  for (const std::string& name : m.unused()) {
    std::smatch match;
    if (std::regex_search(name, match, layer_re) && std::stoll(match[1].str()) >= c.num_layers &&
        name.find("generator") == std::string::npos)
      throw FormatError(ckpt.path + ": tensor \"" + name + "\" belongs to a layer beyond num_hidden_layers (" +
                        std::to_string(c.num_layers) + ") in config.json");
    report.skipped.push_back(name);
  }

  format::ModelConfig config;
  config.model_type = c.model_type;
  config.vocab_size = static_cast<size_t>(c.vocab_size);
  config.embedding_size = static_cast<size_t>(c.embedding_size);
  config.hidden_size = static_cast<size_t>(c.hidden_size);
  config.num_layers = static_cast<size_t>(c.num_layers);
  config.num_heads = static_cast<size_t>(c.num_heads);
  config.intermediate_size = static_cast<size_t>(c.intermediate_size);
  config.hidden_act = *format::activation_from_name(c.hidden_act);
  config.layer_norm_eps = c.layer_norm_eps;
  config.max_position_embeddings = static_cast<size_t>(c.max_position_embeddings);
  config.type_vocab_size = static_cast<size_t>(c.type_vocab_size);
  config.pad_token_id = static_cast<int32_t>(c.pad_token_id);
  config.head = c.head == "bert_pooler" ? format::HeadType::kBertPooler
                : c.head == "electra"     ? format::HeadType::kElectra
                                          : format::HeadType::kDistilbert;
  config.labels = c.labels;
  config.problem_type = c.problem_type;
  config.temperature = c.temperature;
  format::write(writer, config, read_tokenizer(hf_dir), policy, quantized, out_path);

  report.tensors_written = tensors;
  std::error_code ec;
  report.bytes_written = static_cast<size_t>(fs::file_size(out_path, ec));
  return report;
}

}  // namespace maum

// maum convert: both shared checkpoints converted and compared tensor by tensor with their source
// (and, when PyTorch is importable, with torch.load of the .bin), metadata checked against
// config.json / calibration.json; int8 files within scale/2 of the source; and every kind of bad
// input (config, weights, containers, pickles) a FormatError naming the problem.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <zip.h>

#include "convert/src/torch_pickle.h"
#include "core/src/safetensors.h"
#include "maum/analysis.h"
#include "maum/convert.h"
#include "maum/error.h"
#include "maum/tokenizer.h"
#include "tests/common/shared_dir.h"

namespace maum {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "maum-convert-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}
void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}
std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<float> floats_of(const core::TensorView& t) {
  EXPECT_EQ(t.dtype, core::DType::F32) << t.name;
  std::vector<float> v(t.nbytes / 4);
  std::memcpy(v.data(), t.data, t.nbytes);
  return v;
}

// Expected tensor shapes of docs/FORMAT.md for a config.
std::map<std::string, std::vector<int64_t>> format_shapes(const json& c) {
  const int64_t V = c["vocab_size"], E = c["embedding_size"], H = c["hidden_size"], L = c["num_layers"],
                I = c["intermediate_size"], P = c["max_position_embeddings"], T = c["type_vocab_size"],
                N = static_cast<int64_t>(c["labels"].size());
  std::map<std::string, std::vector<int64_t>> s = {
      {"emb.word", {V, E}}, {"emb.position", {P, E}}, {"emb.token_type", {T, E}},
      {"emb.ln.weight", {E}}, {"emb.ln.bias", {E}},
      {"head.dense.weight", {H, H}}, {"head.dense.bias", {H}}, {"head.out.weight", {N, H}}, {"head.out.bias", {N}}};
  if (E != H) {
    s["emb.project.weight"] = {H, E};
    s["emb.project.bias"] = {H};
  }
  for (int64_t i = 0; i < L; ++i) {
    const std::string p = "layer." + std::to_string(i) + ".";
    s[p + "attn.qkv.weight"] = {3 * H, H};
    s[p + "attn.qkv.bias"] = {3 * H};
    s[p + "attn.out.weight"] = {H, H};
    s[p + "attn.out.bias"] = {H};
    s[p + "attn.ln.weight"] = {H};
    s[p + "attn.ln.bias"] = {H};
    s[p + "ffn.up.weight"] = {I, H};
    s[p + "ffn.up.bias"] = {I};
    s[p + "ffn.down.weight"] = {H, I};
    s[p + "ffn.down.bias"] = {H};
    s[p + "ffn.ln.weight"] = {H};
    s[p + "ffn.ln.bias"] = {H};
  }
  return s;
}

// FORMAT.md name -> list of HF names (concatenated along dim 0) for a model type.
std::map<std::string, std::vector<std::string>> hf_sources(const json& c) {
  const bool electra = c["model_type"] == "electra";
  const std::string pre = electra ? "electra." : "bert.";
  std::map<std::string, std::vector<std::string>> m = {
      {"emb.word", {pre + "embeddings.word_embeddings.weight"}},
      {"emb.position", {pre + "embeddings.position_embeddings.weight"}},
      {"emb.token_type", {pre + "embeddings.token_type_embeddings.weight"}},
      {"emb.ln.weight", {pre + "embeddings.LayerNorm.weight"}},
      {"emb.ln.bias", {pre + "embeddings.LayerNorm.bias"}},
      {"head.dense.weight", {electra ? "classifier.dense.weight" : "bert.pooler.dense.weight"}},
      {"head.dense.bias", {electra ? "classifier.dense.bias" : "bert.pooler.dense.bias"}},
      {"head.out.weight", {electra ? "classifier.out_proj.weight" : "classifier.weight"}},
      {"head.out.bias", {electra ? "classifier.out_proj.bias" : "classifier.bias"}}};
  if (c["embedding_size"] != c["hidden_size"]) {
    m["emb.project.weight"] = {pre + "embeddings_project.weight"};
    m["emb.project.bias"] = {pre + "embeddings_project.bias"};
  }
  for (int i = 0; i < c["num_layers"].get<int>(); ++i) {
    const std::string h = pre + "encoder.layer." + std::to_string(i) + ".", p = "layer." + std::to_string(i) + ".";
    for (const char* wb : {"weight", "bias"}) {
      const std::string s = wb;
      m[p + "attn.qkv." + s] = {h + "attention.self.query." + s, h + "attention.self.key." + s,
                                h + "attention.self.value." + s};
      m[p + "attn.out." + s] = {h + "attention.output.dense." + s};
      m[p + "attn.ln." + s] = {h + "attention.output.LayerNorm." + s};
      m[p + "ffn.up." + s] = {h + "intermediate.dense." + s};
      m[p + "ffn.down." + s] = {h + "output.dense." + s};
      m[p + "ffn.ln." + s] = {h + "output.LayerNorm." + s};
    }
  }
  return m;
}

using SourceFloats = std::function<std::vector<float>(const std::string& hf_name)>;

// Every FORMAT.md tensor present, F32 with the documented shape, equal to its source tensors.
void expect_matches_source(const core::SafetensorsFile& out, const SourceFloats& source) {
  const json c = json::parse(out.meta("maum.config"));
  const auto shapes = format_shapes(c);
  EXPECT_EQ(out.tensors().size(), shapes.size()) << "no tensor beyond FORMAT.md's list";
  for (const auto& [name, hf] : hf_sources(c)) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(out.has(name));
    const core::TensorView& t = out.get(name);
    EXPECT_EQ(t.shape, shapes.at(name));
    std::vector<float> expected;
    for (const auto& h : hf) {
      auto v = source(h);
      expected.insert(expected.end(), v.begin(), v.end());
    }
    EXPECT_TRUE(floats_of(t) == expected) << "values differ from " << hf.front();
  }
}

void expect_metadata(const core::SafetensorsFile& out, const std::string& hf_dir, double temperature) {
  EXPECT_EQ(out.meta("maum.format_version"), "1");
  const json c = json::parse(out.meta("maum.config"));
  const json hf = read_json(hf_dir + "/config.json");
  EXPECT_EQ(c["model_type"], hf["model_type"]);
  EXPECT_EQ(c["hidden_size"], hf["hidden_size"]);
  EXPECT_EQ(c["num_layers"], hf["num_hidden_layers"]);
  EXPECT_EQ(c["num_heads"], hf["num_attention_heads"]);
  EXPECT_EQ(c["intermediate_size"], hf["intermediate_size"]);
  EXPECT_EQ(c["vocab_size"], hf["vocab_size"]);
  EXPECT_EQ(c["max_position_embeddings"], hf["max_position_embeddings"]);
  EXPECT_EQ(c["type_vocab_size"], hf["type_vocab_size"]);
  EXPECT_EQ(c["embedding_size"], hf.value("embedding_size", hf["hidden_size"].get<int>()));
  EXPECT_EQ(c["problem_type"], hf["problem_type"]);
  EXPECT_EQ(c["hidden_act"], "gelu");
  EXPECT_DOUBLE_EQ(c["layer_norm_eps"].get<double>(), hf["layer_norm_eps"].get<double>());
  EXPECT_EQ(c["head"], hf["model_type"] == "bert" ? "bert_pooler" : "electra");
  ASSERT_EQ(c["labels"].size(), hf["id2label"].size());
  for (size_t i = 0; i < c["labels"].size(); ++i) EXPECT_EQ(c["labels"][i], hf["id2label"][std::to_string(i)]);
  EXPECT_DOUBLE_EQ(c["temperature"].get<double>(), temperature);
  // The embedded tokenizer is the folder's tokenizer.
  Tokenizer embedded = Tokenizer::from_serialized(out.meta("maum.tokenizer"));
  Tokenizer original = Tokenizer::from_dir(hf_dir);
  for (const char* text : {"Hello, world! I'm SO happy today.", "오늘 프로젝트가 실패했어요 ㅠㅠ"})
    EXPECT_EQ(embedded.encode(text).ids, original.encode(text).ids) << text;
}

TEST(Convert, SafetensorsBertCheckpoint) {
  const std::string hf = testing::shared_path("models/ko-emotion7-small");
  TempDir dir;
  ConvertReport r = convert_hf_model(hf, dir.file("ko.safetensors"));
  EXPECT_EQ(r.model_type, "bert");
  auto out = core::SafetensorsFile::open(dir.file("ko.safetensors"));
  EXPECT_EQ(r.tensors_written, out->tensors().size());
  EXPECT_EQ(r.bytes_written, fs::file_size(dir.file("ko.safetensors")));
  auto src = core::SafetensorsFile::open(hf + "/model.safetensors");
  std::set<std::string> used;
  expect_matches_source(*out, [&](const std::string& name) {
    used.insert(name);
    return floats_of(src->get(name));
  });
  // Whatever the source has beyond what was used is reported as skipped.
  std::set<std::string> skipped(r.skipped.begin(), r.skipped.end());
  for (const auto& [name, t] : src->tensors()) EXPECT_TRUE(used.count(name) || skipped.count(name)) << name;
  EXPECT_FALSE(out->metadata().count("maum.quantization"));
  expect_metadata(*out, hf, read_json(hf + "/calibration.json")["temperature"].get<double>());
}

TEST(Convert, TorchZipElectraCheckpoint) {
  const std::string hf = testing::shared_path("models/en-goemotions-electra-small");
  TempDir dir;
  const std::string path = dir.file("en.safetensors");
  ConvertReport r = convert_hf_model(hf, path);
  EXPECT_EQ(r.model_type, "electra");
  auto out = core::SafetensorsFile::open(path);
  auto src = convert::load_torch_zip(hf + "/pytorch_model.bin");
  expect_matches_source(*out, [&](const std::string& name) {
    const auto& t = src.at(name);
    EXPECT_EQ(t.dtype, core::DType::F32);
    std::vector<float> v(t.bytes.size() / 4);
    std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
    return v;
  });
  EXPECT_EQ(json::parse(out->meta("maum.config"))["embedding_size"], 128);
  expect_metadata(*out, hf, 1.0);  // no calibration.json
}

// An independent check of the pickle reader: PyTorch's own torch.load against the converted file.
TEST(Convert, TorchZipMatchesTorchLoad) {
  if (std::system("/usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "PyTorch not importable by /usr/bin/python3; torch.load cross-check skipped";
  const std::string hf = testing::shared_path("models/en-goemotions-electra-small");
  TempDir dir;
  const std::string path = dir.file("en.safetensors");
  convert_hf_model(hf, path);
  write_text(dir.file("check.py"), R"PY(
import json, struct, sys
import numpy as np, torch
sd = torch.load(sys.argv[1], map_location="cpu")
raw = open(sys.argv[2], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
def get(name):
    v = hdr[name]; a, b = v["data_offsets"]
    return np.frombuffer(raw[8 + n + a: 8 + n + b], dtype=np.float32).reshape(v["shape"])
pairs = [("emb.word", "electra.embeddings.word_embeddings.weight"),
         ("emb.project.weight", "electra.embeddings_project.weight"),
         ("layer.3.ffn.down.weight", "electra.encoder.layer.3.output.dense.weight"),
         ("head.out.bias", "classifier.out_proj.bias")]
for ours, theirs in pairs:
    assert np.array_equal(get(ours), sd[theirs].numpy()), ours
L = "electra.encoder.layer.2.attention.self."
qkv = np.concatenate([sd[L + p + ".weight"].numpy() for p in ("query", "key", "value")])
assert np.array_equal(get("layer.2.attn.qkv.weight"), qkv)
print("ok")
)PY");
  EXPECT_EQ(std::system(("/usr/bin/python3 " + dir.file("check.py") + " " + hf + "/pytorch_model.bin " + path).c_str()), 0);
}

// torch.save of views (transpose, slices sharing one storage) and half precision, decoded by our
// reader and compared with the values PyTorch computed.
TEST(Convert, TorchSavedViewsMatchPyTorch) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "PyTorch not importable by /usr/bin/python3";
  TempDir dir;
  write_text(dir.file("make.py"), R"PY(
import sys, torch
base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
sd = {"t": base.t(), "slice": base[1:3, 2:5], "row": base[2], "half": base.half()[0], "p": torch.nn.Parameter(base[3])}
torch.save(sd, sys.argv[1])
)PY");
  ASSERT_EQ(std::system(("/usr/bin/python3 " + dir.file("make.py") + " " + dir.file("v.bin")).c_str()), 0);
  auto sd = convert::load_torch_zip(dir.file("v.bin"));
  auto f = [&](const std::string& n) {
    std::vector<float> v(sd.at(n).bytes.size() / 4);
    std::memcpy(v.data(), sd.at(n).bytes.data(), sd.at(n).bytes.size());
    return v;
  };
  auto base = [](int r, int c) { return static_cast<float>(r * 6 + c); };
  ASSERT_EQ(sd.at("t").shape, (std::vector<int64_t>{6, 4}));
  auto t = f("t");
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j) EXPECT_EQ(t[i * 4 + j], base(j, i));
  ASSERT_EQ(sd.at("slice").shape, (std::vector<int64_t>{2, 3}));
  auto s = f("slice");
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(s[i * 3 + j], base(1 + i, 2 + j));
  EXPECT_EQ(f("row"), (std::vector<float>{12, 13, 14, 15, 16, 17}));
  EXPECT_EQ(f("p"), (std::vector<float>{18, 19, 20, 21, 22, 23}));
  EXPECT_EQ(sd.at("half").dtype, core::DType::F16);
  EXPECT_EQ(sd.at("half").bytes.size(), 12u);
}

// reduce_range: the encoder's linear weights get 63 levels (the word embeddings keep 127).
void expect_int8_quantized_file(bool reduce_range) {
  SCOPED_TRACE(reduce_range ? "reduce_range" : "int8");
  const std::string hf = testing::shared_path("models/ko-emotion7-small");
  TempDir dir;
  ConvertOptions options;
  options.quantize = "int8";
  options.reduce_range = reduce_range;
  convert_hf_model(hf, dir.file("q.safetensors"), options);
  auto out = core::SafetensorsFile::open(dir.file("q.safetensors"));
  auto src = core::SafetensorsFile::open(hf + "/model.safetensors");
  const json q = json::parse(out->meta("maum.quantization"));
  EXPECT_EQ(q["scheme"], "int8_symmetric_per_channel");
  const json c = json::parse(out->meta("maum.config"));
  std::set<std::string> expected;
  for (int i = 0; i < c["num_layers"].get<int>(); ++i)
    for (const char* l : {"attn.qkv", "attn.out", "ffn.up", "ffn.down"})
      expected.insert("layer." + std::to_string(i) + "." + l + ".weight");
  expected.insert("emb.word");  // per-row (= per token) int8, scale in emb.word_scale
  EXPECT_EQ(q["tensors"].get<std::set<std::string>>(), expected);
  const auto sources = hf_sources(c);
  const auto shapes = format_shapes(c);
  for (const auto& name : expected) {
    SCOPED_TRACE(name);
    const auto& t = out->get(name, core::DType::I8, shapes.at(name));
    const auto& scale_t = out->get(name + "_scale", core::DType::F32, {shapes.at(name)[0]});
    std::vector<float> w;
    for (const auto& h : sources.at(name)) {
      auto v = floats_of(src->get(h));
      w.insert(w.end(), v.begin(), v.end());
    }
    const auto scales = floats_of(scale_t);
    const auto* qv = reinterpret_cast<const int8_t*>(t.data);
    const size_t rows = static_cast<size_t>(t.shape[0]), cols = static_cast<size_t>(t.shape[1]);
    const double levels = reduce_range && name != "emb.word" ? 63 : 127;
    size_t bad = 0, outside = 0;
    for (size_t r = 0; r < rows; ++r) {
      double max_abs = 0;
      for (size_t k = 0; k < cols; ++k) max_abs = std::max(max_abs, std::fabs(double(w[r * cols + k])));
      EXPECT_NEAR(scales[r], max_abs / levels, max_abs / levels * 1e-6);
      for (size_t k = 0; k < cols; ++k) {
        if (std::fabs(double(w[r * cols + k]) - double(qv[r * cols + k]) * scales[r]) > scales[r] / 2 * (1 + 1e-5))
          ++bad;
        outside += std::abs(qv[r * cols + k]) > levels;
      }
    }
    EXPECT_EQ(bad, 0u) << "elements off by more than scale/2";
    EXPECT_EQ(outside, 0u) << "values beyond +-" << levels;
  }
  // Everything else stays F32 and identical.
  EXPECT_TRUE(floats_of(out->get("emb.position")) ==
              floats_of(src->get("bert.embeddings.position_embeddings.weight")));
  EXPECT_EQ(out->get("layer.0.attn.qkv.bias").dtype, core::DType::F32);
  EXPECT_EQ(out->get("head.dense.weight").dtype, core::DType::F32);
}

TEST(Convert, Int8QuantizedFile) { expect_int8_quantized_file(false); }

TEST(Convert, Int8ReducedRangeFile) {
  expect_int8_quantized_file(true);
  TempDir dir;
  ConvertOptions options;
  options.reduce_range = true;  // without --quantize int8: nothing to reduce
  EXPECT_THROW(convert_hf_model(testing::shared_path("models/ko-emotion7-small"), dir.file("x.safetensors"), options),
               InvalidArgument);
}

// ---- A tiny synthetic checkpoint, to make every kind of broken input ----

struct TinyTensor {
  core::DType dtype = core::DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

struct TinyModel {
  json config;
  std::map<std::string, TinyTensor> tensors;

  static TinyModel bert() {
    TinyModel m;
    m.config = {{"model_type", "bert"}, {"vocab_size", 12}, {"hidden_size", 4}, {"num_hidden_layers", 1},
                {"num_attention_heads", 2}, {"intermediate_size", 8}, {"max_position_embeddings", 16},
                {"type_vocab_size", 2}, {"hidden_act", "gelu_new"},
                {"id2label", {{"0", "neg"}, {"1", "pos"}, {"2", "mixed"}}}};
    const int64_t V = 12, H = 4, I = 8, P = 16, N = 3;
    m.f32("bert.embeddings.word_embeddings.weight", {V, H});
    m.f32("bert.embeddings.position_embeddings.weight", {P, H});
    m.f32("bert.embeddings.token_type_embeddings.weight", {2, H});
    m.f32("bert.embeddings.LayerNorm.gamma", {H});  // the old TF-era names
    m.f32("bert.embeddings.LayerNorm.beta", {H});
    const std::string l = "bert.encoder.layer.0.";
    for (const char* p : {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"}) {
      m.f32(l + p + ".weight", {H, H});
      m.f32(l + p + ".bias", {H});
    }
    m.f32(l + "attention.output.LayerNorm.weight", {H});
    m.f32(l + "attention.output.LayerNorm.bias", {H});
    m.f32(l + "intermediate.dense.weight", {I, H});
    m.f32(l + "intermediate.dense.bias", {I});
    m.f32(l + "output.dense.weight", {H, I});
    m.f32(l + "output.dense.bias", {H});
    m.f32(l + "output.LayerNorm.weight", {H});
    m.f32(l + "output.LayerNorm.bias", {H});
    m.f32("bert.pooler.dense.weight", {H, H});
    m.f32("bert.pooler.dense.bias", {H});
    m.f32("classifier.weight", {N, H});
    m.f32("classifier.bias", {N});
    // What real checkpoints carry besides: an int64 buffer and an MLM head.
    TinyTensor ids{core::DType::I64, {1, P}, std::vector<uint8_t>(P * 8, 0)};
    m.tensors["bert.embeddings.position_ids"] = ids;
    m.f32("cls.predictions.bias", {V});
    return m;
  }

  void f32(const std::string& name, std::vector<int64_t> shape) {
    size_t n = 1;
    for (auto d : shape) n *= static_cast<size_t>(d);
    std::vector<float> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(tensors.size()) + 0.001f * static_cast<float>(i);
    TinyTensor t{core::DType::F32, std::move(shape), std::vector<uint8_t>(n * 4)};
    std::memcpy(t.bytes.data(), v.data(), n * 4);
    tensors[name] = std::move(t);
  }

  void write(const std::string& dir) const {
    fs::create_directories(dir);
    write_text(dir + "/config.json", config.dump(2));
    core::SafetensorsWriter w;
    for (const auto& [name, t] : tensors) w.add(name, t.dtype, t.shape, t.bytes.data(), t.bytes.size());
    w.write(dir + "/model.safetensors");
    write_text(dir + "/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n,\n!\ngood\nbad\n");
    write_text(dir + "/tokenizer_config.json", R"({"do_lower_case": true, "tokenizer_class": "BertTokenizer"})");
  }
};

void expect_convert_error(const std::string& dir, const std::string& mention) {
  try {
    convert_hf_model(dir, dir + "/out.safetensors");
    ADD_FAILURE() << "converted " << dir << "; expected an error mentioning '" << mention << "'";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(mention), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir + "/out.safetensors")) << "no output on failure";
}

TEST(ConvertTiny, OldNamesDefaultsSkipsAndActivation) {
  TempDir dir;
  TinyModel m = TinyModel::bert();
  m.write(dir.path());
  ConvertReport r = convert_hf_model(dir.path(), dir.file("out.safetensors"));
  EXPECT_EQ(std::set<std::string>(r.skipped.begin(), r.skipped.end()),
            (std::set<std::string>{"bert.embeddings.position_ids", "cls.predictions.bias"}));
  auto out = core::SafetensorsFile::open(dir.file("out.safetensors"));
  const json c = json::parse(out->meta("maum.config"));
  EXPECT_EQ(c["hidden_act"], "gelu_tanh");
  EXPECT_EQ(c["problem_type"], "single_label_classification");  // absent -> single label
  EXPECT_DOUBLE_EQ(c["layer_norm_eps"].get<double>(), 1e-12);
  EXPECT_EQ(c["pad_token_id"], 0);
  EXPECT_EQ(c["labels"], json({"neg", "pos", "mixed"}));
  EXPECT_EQ(c["temperature"], 1.0);
  std::vector<float> gamma(4);
  std::memcpy(gamma.data(), m.tensors["bert.embeddings.LayerNorm.gamma"].bytes.data(), 16);
  EXPECT_EQ(floats_of(out->get("emb.ln.weight", core::DType::F32, {4})), gamma);
}

TEST(ConvertTiny, WithoutPrefixAndWithDefaultLabels) {
  TempDir dir;
  TinyModel m = TinyModel::bert();
  // Some exports drop the "bert." prefix of the base model.
  std::map<std::string, TinyTensor> renamed;
  for (auto& [name, t] : m.tensors) renamed[name.rfind("bert.", 0) == 0 ? name.substr(5) : name] = t;
  m.tensors = renamed;
  m.config.erase("id2label");
  m.config["num_labels"] = 3;
  m.write(dir.path());
  convert_hf_model(dir.path(), dir.file("out.safetensors"));
  auto out = core::SafetensorsFile::open(dir.file("out.safetensors"));
  EXPECT_EQ(json::parse(out->meta("maum.config"))["labels"], json({"LABEL_0", "LABEL_1", "LABEL_2"}));
}

TEST(ConvertTiny, HalfPrecisionIsWidened) {
  TempDir dir;
  TinyModel m = TinyModel::bert();
  // 1.0, -2.0, 0.5, 65504 (max half), a subnormal 2^-24 as F16; and BF16 1.0, -3.0, 0, 0.
  auto& t = m.tensors["bert.embeddings.LayerNorm.gamma"];
  t.dtype = core::DType::F16;
  t.bytes = {0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0xff, 0x7b};
  auto& b = m.tensors["bert.embeddings.LayerNorm.beta"];
  b.dtype = core::DType::BF16;
  b.bytes = {0x80, 0x3f, 0x40, 0xc0, 0x00, 0x00, 0x00, 0x00};
  m.write(dir.path());
  convert_hf_model(dir.path(), dir.file("out.safetensors"));
  auto out = core::SafetensorsFile::open(dir.file("out.safetensors"));
  EXPECT_EQ(floats_of(out->get("emb.ln.weight")), (std::vector<float>{1.0f, -2.0f, 0.5f, 65504.0f}));
  EXPECT_EQ(floats_of(out->get("emb.ln.bias")), (std::vector<float>{1.0f, -3.0f, 0.0f, 0.0f}));
}

TEST(ConvertTiny, ConfigErrorsNameTheKey) {
  for (const char* key : {"model_type", "hidden_size", "num_hidden_layers", "num_attention_heads",
                          "intermediate_size", "vocab_size", "max_position_embeddings"}) {
    SCOPED_TRACE(key);
    TempDir dir;
    TinyModel m = TinyModel::bert();
    m.config.erase(key);
    m.write(dir.path());
    expect_convert_error(dir.path(), std::string("\"") + key + "\" is missing");
  }
  auto with = [](const std::function<void(json&)>& edit, const std::string& mention) {
    SCOPED_TRACE(mention);
    TempDir dir;
    TinyModel m = TinyModel::bert();
    edit(m.config);
    m.write(dir.path());
    expect_convert_error(dir.path(), mention);
  };
  with([](json& c) { c["num_attention_heads"] = 3; }, "not a multiple of num_attention_heads");
  with([](json& c) { c["model_type"] = "gpt2"; }, "\"gpt2\"; supported: bert, electra");
  with([](json& c) { c["hidden_act"] = "swish"; }, "\"hidden_act\" is \"swish\"");
  with([](json& c) { c["hidden_size"] = "4"; }, "\"hidden_size\" must be a positive integer");
  with([](json& c) { c["vocab_size"] = -1; }, "\"vocab_size\" must be a positive integer");
  with([](json& c) { c["problem_type"] = "regression"; }, "\"problem_type\" is \"regression\"");
  with([](json& c) { c["id2label"] = {{"0", "a"}, {"2", "b"}}; }, "\"id2label\" keys must be the ids");
  with([](json& c) { c["num_hidden_layers"] = 2; }, "missing tensor \"bert.encoder.layer.1.");
  with([](json& c) { c["id2label"] = {{"0", "a"}, {"1", "b"}}; }, "has 3 rows but config.json has 2 labels");
  with([](json& c) { c["vocab_size"] = 13; }, "has shape [12, 4], expected [13, 4]");
  {
    TempDir dir;
    TinyModel::bert().write(dir.path());
    write_text(dir.file("config.json"), "{\"model_type\": \"bert\",");
    expect_convert_error(dir.path(), "config.json: not valid JSON");
  }
  {
    TempDir dir;
    TinyModel::bert().write(dir.path());
    write_text(dir.file("calibration.json"), "{\"temperature\": -1}");
    expect_convert_error(dir.path(), "calibration.json: must be {\"temperature\": T} with T in [0.01, 100]");
  }
}

TEST(ConvertTiny, WeightErrorsNameTheTensor) {
  auto with = [](const std::function<void(TinyModel&)>& edit, const std::string& mention) {
    SCOPED_TRACE(mention);
    TempDir dir;
    TinyModel m = TinyModel::bert();
    edit(m);
    m.write(dir.path());
    expect_convert_error(dir.path(), mention);
  };
  with([](TinyModel& m) { m.tensors.erase("bert.encoder.layer.0.attention.self.key.weight"); },
       "missing tensor \"bert.encoder.layer.0.attention.self.key.weight\"");
  with([](TinyModel& m) { m.tensors.erase("classifier.bias"); }, "missing tensor \"bert.classifier.bias\"");
  with([](TinyModel& m) { m.tensors.erase("bert.pooler.dense.weight"); }, "missing tensor \"bert.pooler.dense.weight\"");
  with([](TinyModel& m) { m.f32("bert.encoder.layer.0.intermediate.dense.weight", {4, 8}); },
       "\"bert.encoder.layer.0.intermediate.dense.weight\" has shape [4, 8], expected [8, 4]");
  with([](TinyModel& m) { m.tensors["bert.pooler.dense.bias"].dtype = core::DType::I32; },
       "\"bert.pooler.dense.bias\" has dtype I32, expected a floating-point dtype");
  with([](TinyModel& m) { m.f32("bert.encoder.layer.1.output.dense.bias", {4}); },
       "belongs to a layer beyond num_hidden_layers");
}

TEST(ConvertTiny, ElectraProjectionAndHead) {
  TempDir dir;
  TinyModel m = TinyModel::bert();
  m.config["model_type"] = "electra";
  m.config["embedding_size"] = 2;
  m.config["problem_type"] = "multi_label_classification";
  std::map<std::string, TinyTensor> renamed;
  for (auto& [name, t] : m.tensors) {
    std::string n = name;
    if (n.rfind("bert.", 0) == 0) n = "electra." + n.substr(5);
    if (n.find("pooler") != std::string::npos || n.rfind("classifier", 0) == 0 || n.find("embeddings.") != std::string::npos) continue;
    renamed[n] = t;
  }
  m.tensors = renamed;
  m.f32("electra.embeddings.word_embeddings.weight", {12, 2});
  m.f32("electra.embeddings.position_embeddings.weight", {16, 2});
  m.f32("electra.embeddings.token_type_embeddings.weight", {2, 2});
  m.f32("electra.embeddings.LayerNorm.weight", {2});
  m.f32("electra.embeddings.LayerNorm.bias", {2});
  m.f32("electra.embeddings_project.weight", {4, 2});
  m.f32("electra.embeddings_project.bias", {4});
  m.f32("classifier.dense.weight", {4, 4});
  m.f32("classifier.dense.bias", {4});
  m.f32("classifier.out_proj.weight", {3, 4});
  m.f32("classifier.out_proj.bias", {3});
  m.f32("discriminator_predictions.dense.weight", {4, 4});
  m.write(dir.path());
  ConvertReport r = convert_hf_model(dir.path(), dir.file("out.safetensors"));
  EXPECT_EQ(r.skipped, (std::vector<std::string>{"cls.predictions.bias", "discriminator_predictions.dense.weight"}));
  auto out = core::SafetensorsFile::open(dir.file("out.safetensors"));
  auto src = [&](const std::string& n) {
    std::vector<float> v(m.tensors.at(n).bytes.size() / 4);
    std::memcpy(v.data(), m.tensors.at(n).bytes.data(), m.tensors.at(n).bytes.size());
    return v;
  };
  expect_matches_source(*out, src);
  const json c = json::parse(out->meta("maum.config"));
  EXPECT_EQ(c["head"], "electra");
  EXPECT_EQ(c["embedding_size"], 2);
  EXPECT_EQ(c["problem_type"], "multi_label_classification");
}

// What `maum convert --policy FILE` passes: the analysis layer's reader and label check.
std::function<std::string(const std::vector<std::string>&)> embed_policy(const std::string& path) {
  return [path](const std::vector<std::string>& labels) { return policy_json_for_model(path, labels); };
}

TEST(ConvertTiny, PolicyIsEmbeddedAfterParsing) {
  TempDir dir;
  TinyModel::bert().write(dir.path());
  write_text(dir.file("policy.json"), R"({"threshold": 0.3})");
  ConvertOptions options;
  options.policy = embed_policy(dir.file("policy.json"));
  convert_hf_model(dir.path(), dir.file("out.safetensors"), options);
  auto out = core::SafetensorsFile::open(dir.file("out.safetensors"));
  EXPECT_EQ(json::parse(out->meta("maum.policy"))["threshold"], 0.3);
  write_text(dir.file("policy.json"), "{oops");
  EXPECT_THROW(convert_hf_model(dir.path(), dir.file("out2.safetensors"), options), FormatError);
  EXPECT_FALSE(fs::exists(dir.file("out2.safetensors")));
  options.policy = nullptr;
  options.quantize = "int4";
  EXPECT_THROW(convert_hf_model(dir.path(), dir.file("out2.safetensors"), options), InvalidArgument);
  EXPECT_THROW(convert_hf_model(dir.file("nope"), dir.file("out2.safetensors")), IoError);
}

// A policy is validated at convert time exactly as classify / eval validate it when they read it
// back (Policy::from_json, then its threshold labels against the model's): a policy convert accepts
// always loads, and one it would not load is an error here, with no output file.
TEST(ConvertTiny, InvalidPolicyIsRejected) {
  TempDir dir;
  TinyModel::bert().write(dir.path());  // labels neg, pos, mixed
  ConvertOptions options;
  const std::string policy_path = dir.file("policy.json");
  options.policy = embed_policy(policy_path);
  auto expect_rejected = [&](const std::string& policy, const std::string& mention, bool format_error) {
    SCOPED_TRACE(policy);
    write_text(policy_path, policy);
    try {
      convert_hf_model(dir.path(), dir.file("out.safetensors"), options);
      ADD_FAILURE() << "converted with policy " << policy;
    } catch (const FormatError& e) {
      EXPECT_TRUE(format_error) << e.what();
      EXPECT_NE(std::string(e.what()).find(mention), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("policy.json"), std::string::npos) << e.what();
    } catch (const InvalidArgument& e) {
      EXPECT_FALSE(format_error) << e.what();
      EXPECT_NE(std::string(e.what()).find(mention), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(dir.file("out.safetensors"))) << "no output on failure";
  };
  expect_rejected(R"({"temperature": "hot"})", "\"temperature\" must be a number", true);
  expect_rejected(R"({"temperature": 0})", "temperature", true);
  expect_rejected(R"({"temprature": 2})", "temprature", true);  // unknown keys are typos
  expect_rejected(R"({"min_confidence": 0.4})", "fallback_label", true);
  expect_rejected(R"({"threshold": 1.5})", "threshold", true);
  expect_rejected(R"({"top_k": -1})", "top_k", true);
  expect_rejected(R"([0.5])", "JSON object", true);
  expect_rejected(R"({"thresholds": {"happy": 0.3}})", "unknown label \"happy\"", false);

  // Valid: the fallback may name a label the model lacks (the runtime allows it); what is embedded
  // reads back through the runtime's reader as the same policy.
  const std::string good =
      R"({"temperature": 1.5, "min_confidence": 0.4, "fallback_label": "neutral", "thresholds": {"pos": 0.3}, "top_k": 2})";
  write_text(policy_path, good);
  convert_hf_model(dir.path(), dir.file("out.safetensors"), options);
  const std::optional<Policy> embedded = read_model_policy(dir.file("out.safetensors"));
  ASSERT_TRUE(embedded.has_value());
  EXPECT_EQ(embedded->to_json(), Policy::from_json(good, "good").to_json());
  EXPECT_EQ(embedded->thresholds.at("pos"), 0.3);
  EXPECT_EQ(embedded->fallback_label, "neutral");
}

// Broken weight containers: each a FormatError naming the problem, never a crash.
TEST(ConvertContainers, CorruptSafetensors) {
  const std::string hf = testing::shared_path("models/ko-emotion7-small");
  const std::string bytes = read_text(hf + "/model.safetensors");
  auto with_weights = [&](const std::string& weights, const std::string& mention) {
    SCOPED_TRACE(mention);
    TempDir dir;
    for (const char* f : {"config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
      fs::copy_file(hf + "/" + f, dir.file(f));
    write_text(dir.file("model.safetensors"), weights);
    expect_convert_error(dir.path(), mention);
  };
  with_weights(bytes.substr(0, bytes.size() / 2), "outside the data area");
  with_weights(bytes.substr(0, 5), "shorter than");
  std::string long_header = bytes;
  long_header[5] = '\x7f';  // header length ~2^47
  with_weights(long_header, "longer than the file");
  std::string bad_json = bytes;
  bad_json[8] = '[';
  with_weights(bad_json, "not valid JSON");
}

TEST(ConvertContainers, CorruptTorchZips) {
  const std::string hf = testing::shared_path("models/en-goemotions-electra-small");
  const std::string bin = read_text(hf + "/pytorch_model.bin");
  auto with_bin = [&](const std::function<void(const std::string& path)>& make, const std::string& mention) {
    SCOPED_TRACE(mention);
    TempDir dir;
    for (const char* f : {"config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
      fs::copy_file(hf + "/" + f, dir.file(f));
    make(dir.file("pytorch_model.bin"));
    expect_convert_error(dir.path(), mention);
  };
  // Cut short anywhere (an interrupted download or copy): a truncated zip, not "legacy format".
  for (size_t cut : {size_t{1}, size_t{3}, size_t{4}, size_t{100}, size_t{9364}, bin.size() / 2, bin.size() - 22,
                     bin.size() - 1})
    with_bin([&](const std::string& p) { write_text(p, bin.substr(0, cut)); }, "truncated or corrupt zip archive");
  with_bin([&](const std::string& p) { write_text(p, ""); }, "is empty");
  // A legacy (pre-1.6, non-zip) torch.save file starts with a pickle.
  with_bin([&](const std::string& p) { write_text(p, "\x80\x02}q\x00."); }, "not a torch zip checkpoint");
  with_bin([&](const std::string& p) { write_text(p, "\x80\x02}q\x00." + bin); }, "not a torch zip checkpoint");
  // Edits of a copy of the real archive with libzip.
  auto edit = [&](const std::function<void(zip_t*)>& change) {
    return [&, change](const std::string& p) {
      write_text(p, bin);
      int err = 0;
      zip_t* z = zip_open(p.c_str(), 0, &err);
      ASSERT_NE(z, nullptr);
      change(z);
      ASSERT_EQ(zip_close(z), 0);
    };
  };
  with_bin(edit([](zip_t* z) { zip_delete(z, static_cast<zip_uint64_t>(zip_name_locate(z, "pytorch_model/data/3", 0))); }),
           "storage entry 'pytorch_model/data/3' is missing");
  static const std::string evil = std::string("\x80\x02") + "cos\nsystem\n(X\x04\x00\x00\x00" + "echo" + "tR.";
  with_bin(edit([](zip_t* z) {
             zip_source_t* s = zip_source_buffer(z, evil.data(), evil.size(), 0);
             zip_file_replace(z, static_cast<zip_uint64_t>(zip_name_locate(z, "pytorch_model/data.pkl", 0)), s, 0);
           }),
           "pickle global 'os.system' is not allowed");
  with_bin(edit([](zip_t* z) { zip_delete(z, static_cast<zip_uint64_t>(zip_name_locate(z, "pytorch_model/data.pkl", 0))); }),
           "no data.pkl");
}

// The stored bytes of zip entry `name` in the archive `path` (read with libzip).
std::string zip_entry_bytes(const std::string& path, const std::string& name) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_RDONLY, &err);
  if (!z) throw std::runtime_error("cannot open " + path);
  zip_stat_t st;
  zip_stat_init(&st);
  std::string bytes;
  if (zip_stat(z, name.c_str(), 0, &st) == 0) {
    bytes.resize(static_cast<size_t>(st.size));
    zip_file_t* f = zip_fopen(z, name.c_str(), 0);
    if (f && zip_fread(f, bytes.data(), bytes.size()) != static_cast<zip_int64_t>(bytes.size())) bytes.clear();
    if (f) zip_fclose(f);
  }
  zip_discard(z);
  return bytes;
}

// Bytes flipped inside one entry's data (the headers and the central directory untouched, so the
// archive still opens): the CRC-32 in the zip directory catches it, naming the entry, instead of
// the converter writing a model that silently predicts garbage.
TEST(ConvertContainers, BitFlipsInsideEntriesFailTheirCrc) {
  const std::string hf = testing::shared_path("models/en-goemotions-electra-small");
  const std::string bin = read_text(hf + "/pytorch_model.bin");
  ASSERT_FALSE(bin.empty());
  struct Case {
    std::string entry;
    size_t flips;      // how many bytes, spread evenly over the entry
    uint8_t mask;
  };
  for (const Case& c : {Case{"pytorch_model/data/0", 2000, 0xff},     // the smoke test's corruption
                        Case{"pytorch_model/data/3", 1, 0x01},        // a single bit of a storage
                        Case{"pytorch_model/data.pkl", 1, 0x01}}) {  // the pickle itself
    SCOPED_TRACE(c.entry);
    TempDir dir;
    for (const char* f : {"config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
      fs::copy_file(hf + "/" + f, dir.file(f));
    // Locate the entry's data in the file by content (stored entries are the bytes themselves).
    const std::string data = zip_entry_bytes(hf + "/pytorch_model.bin", c.entry);
    ASSERT_GT(data.size(), 64u);
    const size_t at = bin.find(data);
    ASSERT_NE(at, std::string::npos) << "entry is not stored uncompressed";
    ASSERT_EQ(bin.find(data, at + 1), std::string::npos) << "entry data is not unique in the file";
    std::string corrupt = bin;
    const size_t step = data.size() / (c.flips + 1);
    for (size_t k = 1; k <= c.flips; ++k) corrupt[at + k * step] = static_cast<char>(corrupt[at + k * step] ^ c.mask);
    write_text(dir.file("pytorch_model.bin"), corrupt);
    // Still a well-formed archive whose entry reads back (changed) through libzip's directory.
    const std::string read_back = zip_entry_bytes(dir.file("pytorch_model.bin"), c.entry);
    ASSERT_EQ(read_back.size(), data.size());
    ASSERT_NE(read_back, data);
    expect_convert_error(dir.path(), "zip entry '" + c.entry + "' is corrupt (CRC-32 mismatch");
  }
}


// ---- Issue 9: hostile and careless inputs to convert ----

// 9.7: an id2label mapping two ids to one name made the top probability unreachable.
TEST(ConvertIssue9, DuplicateLabelNamesAreRejected) {
  TempDir dir;
  TinyModel m = TinyModel::bert();
  m.config["id2label"] = {{"0", "a"}, {"1", "a"}, {"2", "b"}};
  m.write(dir.path());
  expect_convert_error(dir.path(), "\"id2label\" names \"a\" twice");
}

// 9.6: temperatures that pass "> 0" but are 0 or overflow as the float maum.config stores.
TEST(ConvertIssue9, CalibrationTemperatureOutsideTheSaneRange) {
  for (const char* t : {"1e-300", "1e300", "1e-320", "0.001", "1000"}) {
    SCOPED_TRACE(t);
    TempDir dir;
    TinyModel::bert().write(dir.path());
    write_text(dir.file("calibration.json"), std::string("{\"temperature\": ") + t + "}");
    expect_convert_error(dir.path(), "with T in [0.01, 100]");
  }
}

// 9.10: num_labels 1e9 without id2label built 10^9 label strings (bad_alloc) before any check.
TEST(ConvertIssue9, HugeNumLabelsFailsBeforeAllocating) {
  TempDir dir;
  TinyModel m = TinyModel::bert();
  m.config.erase("id2label");
  m.config["num_labels"] = 1000000000;
  m.write(dir.path());
  expect_convert_error(dir.path(), "\"num_labels\" (1000000000) needs a classifier larger than the weights file");
}

// 9.10: a zip storage entry that inflates beyond what config.json's model can need is refused
// before it is inflated (a 100 MB storage of zeros deflates to ~100 KB).
TEST(ConvertIssue9, TorchZipStoragesAreBoundedByTheModel) {
  TempDir dir;
  TinyModel::bert().write(dir.path());
  fs::remove(dir.file("model.safetensors"));
  // {"w": FloatStorage "0" of 25M floats, viewed whole}: pickle bytes written by hand.
  auto le32 = [](uint32_t v) { std::string s(4, '\0'); for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i)); return s; };
  auto str = [&](const std::string& v) { return "X" + le32(static_cast<uint32_t>(v.size())) + v; };
  const uint32_t numel = 25u << 20;
  const std::string pkl = std::string("\x80\x02}", 3) + str("w") + "ctorch._utils\n_rebuild_tensor_v2\n(" + "(" + str("storage") +
                          "ctorch\nFloatStorage\n" + str("0") + str("cpu") + "J" + le32(numel) + "tQ" + std::string("K\x00", 2) +
                          "(J" + le32(numel) + "t" + "(K\x01t" + "\x89" + "ccollections\nOrderedDict\n)R" + "tRs.";
  const std::string zeros(size_t{numel} * 4, '\0');
  int err = 0;
  zip_t* z = zip_open(dir.file("pytorch_model.bin").c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(z, nullptr);
  ASSERT_GE(zip_file_add(z, "archive/data.pkl", zip_source_buffer(z, pkl.data(), pkl.size(), 0), 0), 0);
  const zip_int64_t big = zip_file_add(z, "archive/data/0", zip_source_buffer(z, zeros.data(), zeros.size(), 0), 0);
  ASSERT_GE(big, 0);
  ASSERT_EQ(zip_set_file_compression(z, static_cast<zip_uint64_t>(big), ZIP_CM_DEFLATE, 9), 0);
  ASSERT_EQ(zip_close(z), 0);
  ASSERT_LT(fs::file_size(dir.file("pytorch_model.bin")), 1u << 20);
  expect_convert_error(dir.path(), "what config.json's model can need");
  // The reader itself, without convert's bound: the same entry within a larger budget is read.
  EXPECT_NO_THROW(convert::load_torch_zip(dir.file("pytorch_model.bin"), 200u << 20));
}

// 9.12: convert over a read-only output replaced it (rename only needs the folder writable);
// an existing writable output keeps its permission bits; a failed write leaves nothing behind.
TEST(ConvertIssue9, ReadOnlyOutputIsNotReplaced) {
  TempDir dir;
  TinyModel::bert().write(dir.path());
  write_text(dir.file("out.safetensors"), "precious");
  fs::permissions(dir.file("out.safetensors"), fs::perms::owner_read);
  EXPECT_THROW(convert_hf_model(dir.path(), dir.file("out.safetensors")), IoError);
  EXPECT_EQ(read_text(dir.file("out.safetensors")), "precious");
  EXPECT_EQ(fs::status(dir.file("out.safetensors")).permissions() & fs::perms::all, fs::perms::owner_read);
}

TEST(ConvertIssue9, ExistingOutputKeepsItsModeAndFailuresLeaveNoFile) {
  TempDir dir;
  TinyModel::bert().write(dir.path());
  write_text(dir.file("out.safetensors"), "old");
  fs::permissions(dir.file("out.safetensors"), fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  convert_hf_model(dir.path(), dir.file("out.safetensors"));
  EXPECT_EQ(fs::status(dir.file("out.safetensors")).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_NO_THROW(core::SafetensorsFile::open(dir.file("out.safetensors")));
  // A missing folder: an IoError, and no temporary file anywhere.
  EXPECT_THROW(convert_hf_model(dir.path(), dir.file("missing/out.safetensors")), IoError);
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace maum

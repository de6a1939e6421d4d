// The tf_model.h5 reader (convert/src/tf_h5) and the weights-file preference of maum convert:
// transformers' TF -> PyTorch name rule, the shared TF checkpoint converting to exactly the
// safetensors twin's tensors, safetensors > pytorch_model.bin > tf_model.h5 (and --verbose saying
// which was read), and small Keras-layout files written here with libhdf5 (nothing committed):
// valid ones read with kernels transposed, malformed, truncated and bit-flipped ones give
// maum::Error, never a crash or an allocation of what the file claims.
#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "convert/src/tf_h5.h"
#include "core/src/safetensors.h"
#include "maum/convert.h"
#include "maum/error.h"
#include "tests/common/cli.h"
#include "tests/common/shared_dir.h"

namespace maum {
namespace {

namespace fs = std::filesystem;

class TfH5 : public testing::CliSandbox {};

TEST(TfH5Names, TransformersRule) {
  bool transpose = false;
  EXPECT_EQ(convert::tf_to_pt_name(
                "tf_bert_for_sequence_classification/bert/encoder/layer_._11/attention/self/query/kernel:0", transpose),
            "bert.encoder.layer.11.attention.self.query.weight");
  EXPECT_TRUE(transpose);
  EXPECT_EQ(convert::tf_to_pt_name("tf_bert_for_sequence_classification/bert/embeddings/word_embeddings/weight:0",
                                   transpose),
            "bert.embeddings.word_embeddings.weight");
  EXPECT_FALSE(transpose);
  EXPECT_EQ(convert::tf_to_pt_name("m/bert/embeddings/position_embeddings/embeddings:0", transpose),
            "bert.embeddings.position_embeddings.weight");
  EXPECT_FALSE(transpose);
  EXPECT_EQ(convert::tf_to_pt_name("m/roberta/encoder/layer_._0/output/LayerNorm/gamma:0", transpose),
            "roberta.encoder.layer.0.output.LayerNorm.weight");
  EXPECT_EQ(convert::tf_to_pt_name("m/roberta/encoder/layer_._0/output/LayerNorm/beta:0", transpose),
            "roberta.encoder.layer.0.output.LayerNorm.bias");
  EXPECT_EQ(convert::tf_to_pt_name("tf_distil_bert_for_sequence_classification/distilbert/transformer/layer_._1/"
                                   "ffn/lin1/kernel:0",
                                   transpose),
            "distilbert.transformer.layer.1.ffn.lin1.weight");
  EXPECT_TRUE(transpose);
  EXPECT_EQ(convert::tf_to_pt_name("tf_bert_for_sequence_classification/classifier/bias:0", transpose),
            "classifier.bias");
  EXPECT_FALSE(transpose);
  EXPECT_EQ(convert::tf_to_pt_name("m/outer___bert/pooler//dense/kernel:0", transpose), "bert.pooler.dense.weight");
}

TEST_F(TfH5, SharedTfCheckpointConvertsToTheSafetensorsTwinsTensors) {
  // models-random/ko-emotion7-small-tf is models/ko-emotion7-small written as TF would: the
  // converted files must hold the same tensors, bit for bit.
  const std::string a = dir_ + "/from_tf.safetensors", b = dir_ + "/from_st.safetensors";
  const ConvertReport ra = convert_hf_model(testing::shared_path("models-random/ko-emotion7-small-tf"), a);
  convert_hf_model(testing::shared_path("models/ko-emotion7-small"), b);
  EXPECT_EQ(fs::path(ra.weights_file).filename(), "tf_model.h5");
  EXPECT_TRUE(ra.skipped.empty());
  auto fa = core::SafetensorsFile::open(a), fb = core::SafetensorsFile::open(b);
  ASSERT_EQ(fa->tensors().size(), fb->tensors().size());
  for (const auto& [name, t] : fb->tensors()) {
    ASSERT_TRUE(fa->has(name)) << name;
    const core::TensorView& u = fa->get(name);
    EXPECT_EQ(u.shape, t.shape) << name;
    ASSERT_EQ(u.nbytes, t.nbytes) << name;
    EXPECT_EQ(std::memcmp(u.data, t.data, t.nbytes), 0) << name;
  }
}

TEST_F(TfH5, WeightsFilesArePreferredSafetensorsThenTorchThenTf) {
  const std::string st_dir = testing::shared_path("models/ko-emotion7-small");
  const std::string tf_dir = testing::shared_path("models-random/ko-emotion7-small-tf");
  const std::string hf = dir_ + "/all_three";
  fs::create_directories(hf);
  for (const char* f : {"config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    fs::create_symlink(st_dir + "/" + f, hf + "/" + f);
  fs::create_symlink(st_dir + "/model.safetensors", hf + "/model.safetensors");
  std::ofstream(hf + "/pytorch_model.bin") << "not a torch zip";
  fs::create_symlink(tf_dir + "/tf_model.h5", hf + "/tf_model.h5");
  const std::string out = dir_ + "/pref.safetensors";
  EXPECT_EQ(fs::path(convert_hf_model(hf, out).weights_file).filename(), "model.safetensors");
  fs::remove(hf + "/model.safetensors");
  try {
    convert_hf_model(hf, out);
    ADD_FAILURE() << "the broken pytorch_model.bin was not the one read";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pytorch_model.bin"), std::string::npos) << e.what();
  }
  fs::remove(hf + "/pytorch_model.bin");
  testing::RunResult r = run("--verbose convert " + testing::shell_quote(hf) + " " + testing::shell_quote(out));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("read weights from " + hf + "/tf_model.h5"), std::string::npos) << r.err;
  r = run("classify --model " + testing::shell_quote(out) + " '정말 기쁜 하루였어요!'");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\"top\":\"happiness\""), std::string::npos) << r.out;
}

// A small Keras-layout HDF5 file written with libhdf5.
struct Weight {
  std::string name;
  std::vector<hsize_t> dims;
  hid_t type = H5T_IEEE_F32LE;
  bool write = true;
};
struct Layer {
  std::string name;
  std::vector<Weight> weights;
  bool listed = true, group = true;
};

void set_names(hid_t object, const std::string& key, const std::vector<std::string>& names, bool variable = false) {
  hsize_t n = names.size();
  hid_t space = H5Screate_simple(1, &n, nullptr);
  if (names.empty()) {  // as Keras writes an empty list: a float64 array of 0 elements
    hid_t a = H5Acreate2(object, key.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Aclose(a);
    H5Sclose(space);
    return;
  }
  hid_t type = H5Tcopy(H5T_C_S1);
  if (variable) {
    H5Tset_size(type, H5T_VARIABLE);
    std::vector<const char*> ptrs;
    for (const auto& s : names) ptrs.push_back(s.c_str());
    hid_t a = H5Acreate2(object, key.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, ptrs.data());
    H5Aclose(a);
  } else {
    size_t len = 1;
    for (const auto& s : names) len = std::max(len, s.size());
    H5Tset_size(type, len);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    std::vector<char> buf(names.size() * len, 0);
    for (size_t i = 0; i < names.size(); ++i) std::memcpy(buf.data() + i * len, names[i].data(), names[i].size());
    hid_t a = H5Acreate2(object, key.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, type, buf.data());
    H5Aclose(a);
  }
  H5Tclose(type);
  H5Sclose(space);
}

void write_keras(const std::string& path, const std::vector<Layer>& layers, bool chunked_names = false,
                 bool variable = false) {
  hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  std::vector<std::string> listed;
  for (const Layer& l : layers)
    if (l.listed) listed.push_back(l.name);
  if (chunked_names && listed.size() > 1) {  // Keras' split of a long list: layer_names0, layer_names1
    set_names(f, "layer_names0", {listed.begin(), listed.begin() + 1}, variable);
    set_names(f, "layer_names1", {listed.begin() + 1, listed.end()}, variable);
  } else {
    set_names(f, "layer_names", listed, variable);
  }
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  for (const Layer& l : layers) {
    if (!l.group) continue;
    hid_t g = H5Gcreate2(f, l.name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    std::vector<std::string> names;
    for (const Weight& w : l.weights) names.push_back(w.name);
    set_names(g, "weight_names", names, variable);
    for (const Weight& w : l.weights) {
      if (w.dims.empty() && !w.write) continue;  // listed, no dataset
      hid_t space = H5Screate_simple(static_cast<int>(w.dims.size()), w.dims.data(), nullptr);
      hid_t d = H5Dcreate2(g, w.name.c_str(), w.type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
      if (w.write) {
        hsize_t n = 1;
        for (hsize_t x : w.dims) n *= x;
        std::vector<float> v(n);
        for (hsize_t i = 0; i < n; ++i) v[i] = static_cast<float>(i) + 0.5f;
        H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data());
      }
      H5Dclose(d);
      H5Sclose(space);
    }
    H5Gclose(g);
  }
  H5Pclose(lcpl);
  H5Fclose(f);
}

std::vector<Layer> small_model() {
  return {{"bert",
           {{"m/bert/dense/kernel:0", {2, 3}}, {"m/bert/LayerNorm/gamma:0", {3}}, {"m/bert/emb/embeddings:0", {4, 3}}}},
          {"dropout_1", {}},
          {"classifier", {{"m/classifier/bias:0", {2}}}}};
}

std::string read_bytes(const std::string& path) { return testing::read_file(path); }

TEST_F(TfH5, SmallFilesReadWithKernelsTransposed) {
  for (int variant = 0; variant < 3; ++variant) {  // fixed strings, Keras' split lists, variable strings
    const std::string path = dir_ + "/small" + std::to_string(variant) + ".h5";
    write_keras(path, small_model(), variant == 1, variant == 2);
    const auto t = convert::load_tf_h5(path);
    ASSERT_EQ(t.size(), 4u) << variant;
    const convert::LoadedTensor& k = t.at("bert.dense.weight");
    ASSERT_EQ(k.shape, (std::vector<int64_t>{3, 2}));  // [in 2, out 3] -> [out 3, in 2]
    const auto* v = reinterpret_cast<const float*>(k.bytes.data());
    // TF kernel[r][c] = r * 3 + c + 0.5 -> weight[c][r]
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 3; ++c) EXPECT_EQ(v[c * 2 + r], r * 3 + c + 0.5f);
    EXPECT_EQ(t.at("bert.LayerNorm.weight").shape, (std::vector<int64_t>{3}));
    EXPECT_EQ(t.at("bert.emb.weight").shape, (std::vector<int64_t>{4, 3}));
    EXPECT_EQ(t.at("classifier.bias").shape, (std::vector<int64_t>{2}));
    const std::string bytes = read_bytes(path);
    EXPECT_EQ(convert::load_tf_h5_bytes(bytes.data(), bytes.size(), "small.h5").size(), 4u);
  }
}

void expect_format_error(const std::string& path, const std::string& needle, uint64_t budget = 64u << 20) {
  try {
    convert::load_tf_h5(path, budget);
    ADD_FAILURE() << path << ": no error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST_F(TfH5, MalformedFilesAreFormatErrors) {
  const std::string p = dir_ + "/bad.h5";
  {
    auto m = small_model();
    m[0].weights[1].type = H5T_STD_I32LE;
    write_keras(p, m);
    expect_format_error(p, "not a floating-point dataset");
  }
  {
    auto m = small_model();
    m[0].weights[0].dims = {2, 3, 1};
    write_keras(p, m);
    expect_format_error(p, "rank 3");
  }
  {
    auto m = small_model();
    m[0].weights.push_back({"m/bert/missing/bias:0", {}, H5T_IEEE_F32LE, false});
    write_keras(p, m);
    expect_format_error(p, "has no dataset");
  }
  {
    auto m = small_model();
    m[2].group = false;
    write_keras(p, m);
    expect_format_error(p, "has no group");
  }
  {
    auto m = small_model();
    m[2].weights.push_back({"other/classifier/bias:0", {2}});  // maps to classifier.bias too
    write_keras(p, m);
    expect_format_error(p, "two weights map to \"classifier.bias\"");
  }
  {
    // A dataset claiming 2^20 x 2^11 floats (8 GiB) that the file never stores: refused by the
    // budget before anything is allocated.
    auto m = small_model();
    m[2].weights.push_back({"m/classifier/huge/kernel:0", {1u << 20, 1u << 11}, H5T_IEEE_F32LE, false});
    write_keras(p, m);
    expect_format_error(p, "exceed");
  }
  {
    hid_t f = H5Fcreate(p.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Fclose(f);
    expect_format_error(p, "has no \"layer_names\" attribute");
  }
  std::ofstream(p, std::ios::trunc) << "not really HDF5";
  expect_format_error(p, "no HDF5 signature");
  std::ofstream(p, std::ios::trunc).close();
  expect_format_error(p, "no HDF5 signature");
  EXPECT_THROW(convert::load_tf_h5(dir_ + "/nowhere.h5"), IoError);
  EXPECT_THROW(convert::load_tf_h5_bytes("", 0, "empty.h5"), FormatError);
}

TEST_F(TfH5, TruncatedFilesAreFormatErrors) {
  const std::string path = dir_ + "/whole.h5";
  write_keras(path, small_model());
  const std::string bytes = read_bytes(path);
  ASSERT_GT(bytes.size(), 512u);
  for (size_t n = 0; n < bytes.size(); n += std::max<size_t>(1, bytes.size() / 200))
    EXPECT_THROW(convert::load_tf_h5_bytes(bytes.data(), n, "truncated.h5"), FormatError) << n;
  EXPECT_THROW(convert::load_tf_h5_bytes(bytes.data(), bytes.size() - 1, "truncated.h5"), FormatError);
  // The shared checkpoint cut short on disk, through maum convert.
  const std::string tf_dir = testing::shared_path("models-random/ko-emotion7-small-tf");
  const std::string hf = dir_ + "/truncated_tf";
  fs::create_directories(hf);
  for (const char* f : {"config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"})
    fs::create_symlink(tf_dir + "/" + f, hf + "/" + f);
  const uintmax_t size = fs::file_size(tf_dir + "/tf_model.h5");
  for (uintmax_t cut : {uintmax_t{4096}, size / 2, size - 1}) {
    fs::copy_file(tf_dir + "/tf_model.h5", hf + "/tf_model.h5", fs::copy_options::overwrite_existing);
    fs::resize_file(hf + "/tf_model.h5", cut);
    testing::RunResult r = run("convert " + testing::shell_quote(hf) + " " + testing::shell_quote(dir_ + "/t.safetensors"));
    EXPECT_EQ(r.status, 1) << cut;
    EXPECT_NE(r.err.find("maum: error: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("tf_model.h5"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("HDF5-DIAG"), std::string::npos) << "libhdf5's own error stack was printed: " << r.err;
  }
}

TEST_F(TfH5, FlippedBytesGiveAnErrorOrTheFileNeverACrash) {
  const std::string path = dir_ + "/flip.h5";
  write_keras(path, small_model());
  const std::string bytes = read_bytes(path);
  std::mt19937 rng(13);
  size_t errors = 0, read = 0;
  for (int i = 0; i < 1500; ++i) {
    std::string b = bytes;
    const size_t at = rng() % b.size();
    b[at] = static_cast<char>(b[at] ^ (1 << (rng() % 8)));
    try {
      for (const auto& [name, t] : convert::load_tf_h5_bytes(b.data(), b.size(), "flip.h5")) {
        uint64_t n = sizeof(float);
        for (int64_t d : t.shape) n *= static_cast<uint64_t>(d);
        ASSERT_EQ(n, t.bytes.size()) << name;
      }
      ++read;
    } catch (const Error&) {
      ++errors;
    }
  }
  std::cout << "[ flips    ] " << read << " read, " << errors << " errors\n";
  EXPECT_GT(errors, 0u);
}

}  // namespace
}  // namespace maum

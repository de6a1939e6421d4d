// Binding an int8 model (engine/src/weights.cpp): QuantizedWeights::narrow, the AVX2 kernel's
// license to skip its sign step, must come from the weights themselves. A file converted with
// --reduce-range gets it on every quantized layer, an ordinary int8 file on none, and one value
// outside [-64, 64] takes it away from that layer only (whatever the file claims, a saturating
// pair would be a silently wrong answer).
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/src/model_format.h"
#include "core/src/safetensors.h"
#include "engine/kernels/kernels.h"
#include "engine/src/weights.h"
#include "tests/engine/test_models.h"

namespace maum {
namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Where a tensor's bytes start in a safetensors file's bytes (8-byte header length, header, data).
size_t tensor_offset(const std::string& bytes, const std::string& name) {
  uint64_t header = 0;
  std::memcpy(&header, bytes.data(), 8);
  const auto h = nlohmann::json::parse(bytes.substr(8, header));
  return 8 + header + h.at(name).at("data_offsets").at(0).get<size_t>();
}

std::vector<bool> narrow_flags(const std::shared_ptr<const core::SafetensorsFile>& file) {
  const auto config = format::parse_config(file->meta(format::kConfigKey), file->path());
  const auto w = engine::bind_weights(file, config, &kernels::ops());
  std::vector<bool> flags;
  for (const auto& l : w->layers)
    for (const engine::Linear* x : {&l.qkv, &l.attn_out, &l.ffn_up, &l.ffn_down}) {
      EXPECT_TRUE(x->is_quantized());
      flags.push_back(x->quantized.narrow);
    }
  return flags;
}

TEST(Int8Weights, NarrowComesFromTheValues) {
  const std::string full = testing::converted_model("ko-emotion7-small", "int8");
  const std::string seven = testing::converted_model("ko-emotion7-small", "int8-7bit");
  const auto full_flags = narrow_flags(core::SafetensorsFile::open(full));
  ASSERT_EQ(full_flags.size(), 16u);
  for (bool f : full_flags) EXPECT_FALSE(f);
  const auto flags = narrow_flags(core::SafetensorsFile::open(seven));
  ASSERT_EQ(flags.size(), 16u);  // 4 layers x 4 linear layers
  for (bool f : flags) EXPECT_TRUE(f);

  // One byte of layer 1's FFN up-projection set to 65: that layer loses it, the others keep it.
  std::string bytes = read_bytes(seven);
  const std::string name = format::tensor::weight(format::tensor::layer(1, format::tensor::kFfnUp));
  bytes[tensor_offset(bytes, name) + 1234] = 65;
  const auto edited = narrow_flags(core::SafetensorsFile::from_bytes(bytes.data(), bytes.size(), "edited"));
  ASSERT_EQ(edited.size(), 16u);
  for (size_t i = 0; i < edited.size(); ++i) EXPECT_EQ(edited[i], i != 1 * 4 + 2) << i;
  bytes = read_bytes(seven);
  bytes[tensor_offset(bytes, name) + 99] = -65;  // below the range too
  const auto below = narrow_flags(core::SafetensorsFile::from_bytes(bytes.data(), bytes.size(), "below"));
  ASSERT_EQ(below.size(), 16u);
  EXPECT_FALSE(below[1 * 4 + 2]);
  // -64 and 64 are still narrow.
  bytes = read_bytes(seven);
  bytes[tensor_offset(bytes, name) + 1234] = 64;
  bytes[tensor_offset(bytes, name) + 1235] = -64;
  for (bool f : narrow_flags(core::SafetensorsFile::from_bytes(bytes.data(), bytes.size(), "edge"))) EXPECT_TRUE(f);
}

}  // namespace
}  // namespace maum

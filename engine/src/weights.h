// Internal: the model's configuration and weights as the encoder reads them. F32 tensors point
// into the file's bytes (no copy); int8 linear layers carry their prepared kernels::QuantizedWeights.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/src/model_format.h"
#include "core/src/pages.h"
#include "core/src/safetensors.h"
#include "engine/kernels/kernels.h"

namespace maum::engine {

// The config is part of the model file format (core/src/model_format.h).
using format::Activation;
using format::HeadType;
using format::ModelConfig;

// y = x . W^T + b for W [n out, k in], in F32 or int8 (per-output-channel scales).
struct Linear {
  size_t n = 0, k = 0;
  kernels::LinearF32 f32;               // w (into the file's bytes) + bias (+ packed copy), when F32
  kernels::QuantizedWeights quantized;  // when int8 (quantized.data != null)
  kernels::LinearBf16 bf16;             // when loaded at precision bf16 (bf16.packed != null)
  const float* bias = nullptr;          // [n]
  bool is_quantized() const { return quantized.data != nullptr; }
  bool is_bf16() const { return bf16.packed != nullptr; }
};

struct LayerNormWeights {
  const float* gamma = nullptr;
  const float* beta = nullptr;
};

struct EncoderLayer {
  Linear qkv, attn_out, ffn_up, ffn_down;
  LayerNormWeights attn_ln, ffn_ln;
};

struct Weights {
  // [V, E]: F32, or (int8 files) I8 rows with per-row scales, dequantized per looked-up token.
  const float* word_embeddings = nullptr;
  const int8_t* word_embeddings_i8 = nullptr;
  const float* word_embedding_scales = nullptr;  // [V]
  const float* position_embeddings = nullptr;  // [P, E]
  const float* token_type_embeddings = nullptr;  // [T, E]; null when T = 0 (DistilBERT)
  LayerNormWeights embedding_ln;
  bool has_projection = false;
  Linear embedding_projection;  // [H, E] (ELECTRA when E != H)
  std::vector<EncoderLayer> layers;
  Linear head_dense, head_out;
  bool quantized = false;
  size_t int8_linears = 0, narrow_linears = 0;  // of them, QuantizedWeights::narrow

  // Keeps the file's bytes alive, and owns what could not be used in place (F32 tensors the file
  // stores at a misaligned offset, int8 row sums).
  std::shared_ptr<const core::SafetensorsFile> file;
  std::vector<std::unique_ptr<float[]>> owned_floats;
  std::vector<std::unique_ptr<int32_t[]>> owned_row_sums;
  core::PageArena packed;  // SIMD-layout copies (64-byte aligned, on huge pages where offered)
};

// Binds every tensor the config calls for, checking dtype and shape. Throws FormatError naming the
// tensor and the expected shape.
// With pack_for set, also writes each linear layer's weights in that kernel table's SIMD layout
// (when the table uses one). With bf16_for set (an fp32 file), the linear layers' weights are
// instead rounded to bf16 in that table's bf16 layout, read from the file slab by slab (no fp32
// copy is kept).
// `alongside`, when given, runs on the same threads as the reading and packing, as one more of
// their jobs (Model::load builds the tokenizer there); its exception is thrown like theirs.
std::unique_ptr<Weights> bind_weights(std::shared_ptr<const core::SafetensorsFile> file,
                                      const ModelConfig& config,
                                      const kernels::Ops* pack_for = nullptr,
                                      const kernels::Ops* bf16_for = nullptr,
                                      const std::function<void()>& alongside = {});

}  // namespace maum::engine

// Internal: int8 weight quantization for `maum convert --quantize int8` (docs/FORMAT.md).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace maum::convert {

struct QuantizedMatrix {
  std::vector<int8_t> values;  // [rows, cols]
  std::vector<float> scales;   // [rows]: real weight = value * scale
};

// Symmetric per-row (= per output channel) quantization: scale = max|row| / levels, value =
// round(w / scale) with round-half-to-even, clamped to [-levels, levels]; so |w - value * scale|
// <= scale / 2 for every element. An all-zero row gets scale 1 (values 0) so nothing divides by 0.
// levels: 127 (int8), or 63 for `--reduce-range` (7 bits: see kReducedRangeLevels).
QuantizedMatrix quantize_rows_int8(const float* w, size_t rows, size_t cols, int levels = 127);

// `maum convert --quantize int8 --reduce-range`: linear weights in [-63, 63], which the AVX2 int8
// kernel multiplies without its sign step (kernels::QuantizedWeights::narrow, docs/PERF.md).
inline constexpr int kReducedRangeLevels = 63;

}  // namespace maum::convert

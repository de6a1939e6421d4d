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

// Symmetric per-row (= per output channel) quantization: scale = max|row| / 127, value =
// round(w / scale) with round-half-to-even, clamped to [-127, 127]; so |w - value * scale| <=
// scale / 2 for every element. An all-zero row gets scale 1 (values 0) so nothing divides by 0.
QuantizedMatrix quantize_rows_int8(const float* w, size_t rows, size_t cols);

}  // namespace maum::convert

#include "convert/src/quantize.h"

#include <algorithm>
#include <cmath>

namespace maum::convert {

QuantizedMatrix quantize_rows_int8(const float* w, size_t rows, size_t cols, int levels) {
  const float top = static_cast<float>(levels);
  QuantizedMatrix q;
  q.values.resize(rows * cols);
  q.scales.resize(rows);
  for (size_t r = 0; r < rows; ++r) {
    const float* row = w + r * cols;
    float max_abs = 0.0f;
    for (size_t c = 0; c < cols; ++c) max_abs = std::max(max_abs, std::fabs(row[c]));
    const float scale = max_abs > 0.0f ? max_abs / top : 1.0f;
    q.scales[r] = scale;
    for (size_t c = 0; c < cols; ++c) {
      // std::nearbyint rounds half to even in the default rounding mode.
      float v = std::nearbyint(row[c] / scale);
      v = std::min(top, std::max(-top, v));
      q.values[r * cols + c] = static_cast<int8_t>(v);
    }
  }
  return q;
}

}  // namespace maum::convert

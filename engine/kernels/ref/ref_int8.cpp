// Portable scalar int8 path: exact int32 accumulation, the reference the SIMD int8 kernels must
// match bit for bit in the integer part.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "engine/kernels/table.h"

namespace maum::kernels::ref {

void quantize_rows_u8(const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale, size_t m,
                      size_t k) {
  for (size_t r = 0; r < m; ++r) {
    const float* xr = x + r * ldx;
    uint8_t* qr = q + r * ldq;
    float amax = 0.0f;
    bool nan = false;
    for (size_t i = 0; i < k; ++i) {
      amax = std::fabs(xr[i]) > amax ? std::fabs(xr[i]) : amax;
      nan |= xr[i] != xr[i];
    }
    // A NaN activation (NaN/Inf weights) makes the row's scale NaN, so the row's outputs are NaN
    // and the model reports a non-finite logit instead of quantizing it away.
    if (nan) amax = std::numeric_limits<float>::quiet_NaN();
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    scale[r] = amax / 127.0f;
    for (size_t i = 0; i < k; ++i) {
      // nearbyint: round half to even in the default rounding mode, like cvtps2dq.
      float v = std::nearbyint(xr[i] * inv);
      // NaN (x * inv of a NaN or infinite x) -> -127, as the SIMD max(v, -127) gives.
      v = !(v >= -127.0f) ? -127.0f : (v > 127.0f ? 127.0f : v);
      qr[i] = static_cast<uint8_t>(static_cast<int>(v) + 128);
    }
  }
}

void linear_u8s8(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
                 const float* bias, float* y, size_t ldy, size_t m, size_t n_begin, size_t n_end,
                 Epilogue epilogue) {
  for (size_t r = 0; r < m; ++r) {
    const uint8_t* qr = q + r * ldq;
    float* yr = y + r * ldy;
    for (size_t c = n_begin; c < n_end; ++c) {
      const int8_t* wc = w.data + c * w.k;
      int32_t acc = 0;
      for (size_t i = 0; i < w.k; ++i) acc += static_cast<int32_t>(qr[i]) * wc[i];
      acc -= 128 * w.row_sum[c];
      yr[c] = x_scale[r] * w.scale[c] * static_cast<float>(acc) + (bias ? bias[c] : 0.0f);
    }
    if (n_end > n_begin) apply_epilogue(yr + n_begin, n_end - n_begin, epilogue);
  }
}

unsigned s8_row_stats(const int8_t* w, size_t n, size_t k, int32_t* sums) {
  unsigned largest = 0;
  for (size_t r = 0; r < n; ++r) {
    const int8_t* row = w + r * k;
    int32_t sum = 0;
    for (size_t i = 0; i < k; ++i) {
      sum += row[i];
      largest = std::max(largest, static_cast<unsigned>(std::abs(static_cast<int>(row[i]))));
    }
    sums[r] = sum;
  }
  return largest;
}

void gemm_u8s8(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
               const float* bias, float* y, size_t ldy, size_t m) {
  linear_u8s8(q, ldq, x_scale, w, bias, y, ldy, m, 0, w.n, Epilogue::kNone);
}

}  // namespace maum::kernels::ref

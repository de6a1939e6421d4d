// Portable scalar fp32 GEMM: the reference every SIMD GEMM is tested against, and the fallback on
// CPUs without AVX2. Eight independent partial sums per dot product keep it reasonably fast (the
// compiler can map them onto SSE2 lanes without reassociating anything) and its rounding error
// small (~eps * sqrt(k / 8) relative).
#include <algorithm>
#include <cstring>

#include "engine/kernels/table.h"

namespace maum::kernels::ref {
namespace {

float dot(const float* a, const float* b, size_t k) {
  float lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= k; i += 8) {
    for (int j = 0; j < 8; ++j) lanes[j] += a[i + j] * b[i + j];
  }
  for (size_t j = 0; i < k; ++i, ++j) lanes[j] += a[i] * b[i];
  return ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) +
         ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
}

// [n/16][k_pad/4][16][4]: k zero-padded to k_pad (a multiple of 4), n to whole panels.
void pack_u8s8_padded(const int8_t* w, size_t n, size_t k, size_t k_pad, int8_t* packed) {
  for (size_t p = 0; p < n; p += kPackPanel)
    pack_u8s8_panel_groups(w + p * k, std::min(kPackPanel, n - p), k, k_pad, 0, packed + p * k_pad);
}

}  // namespace

void gemm_f32(const float* x, size_t ldx, const float* w, const float* bias, float* y, size_t ldy,
              size_t m, size_t n, size_t k) {
  for (size_t r = 0; r < m; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    for (size_t c = 0; c < n; ++c) {
      yr[c] = dot(xr, w + c * k, k) + (bias ? bias[c] : 0.0f);
    }
  }
}

void linear_f32(const float* x, size_t ldx, const LinearF32& w, float* y, size_t ldy, size_t m,
                size_t n_begin, size_t n_end, Epilogue epilogue) {
  if (n_end <= n_begin) return;
  gemm_f32(x, ldx, w.w + n_begin * w.k, w.bias ? w.bias + n_begin : nullptr, y + n_begin, ldy, m,
           n_end - n_begin, w.k);
  if (epilogue != Epilogue::kNone) {
    for (size_t r = 0; r < m; ++r) apply_epilogue(y + r * ldy + n_begin, n_end - n_begin, epilogue);
  }
}

void pack_u8s8_panel_groups(const int8_t* w, size_t rows, size_t k, size_t k_pad, size_t kg_begin,
                            int8_t* panel) {
  // Whole 4-byte groups move as one 4-byte copy per row (packing runs over every weight at load,
  // so it is part of every cold start); the tail group and padding rows are zero-filled.
  const size_t k_full = k / 4 * 4;
  for (size_t kg = kg_begin; kg < k_pad; kg += 4) {
    int8_t* dst = panel + kg * kPackPanel;
    std::memset(dst, 0, kPackPanel * 4);
    if (kg < k_full) {
      for (size_t c = 0; c < rows; ++c) std::memcpy(dst + c * 4, w + c * k + kg, 4);
    } else {
      for (size_t c = 0; c < rows; ++c)
        for (size_t kk = kg; kk < k; ++kk) dst[c * 4 + (kk - kg)] = w[c * k + kk];
    }
  }
}

size_t packed_none(size_t, size_t) { return 0; }
void pack_f32_none(const float*, size_t, size_t, float*) {}
void pack_u8s8_none(const int8_t*, size_t, size_t, int8_t*) {}

size_t packed_f32_panels_size(size_t n, size_t k) {
  return (n + kPackPanel - 1) / kPackPanel * kPackPanel * k;
}

void pack_f32_panels(const float* w, size_t n, size_t k, float* packed) {
  // Branch-free over the panel's real rows (padding rows are zeroed once): packing runs over
  // every weight at load, so it is part of every cold start.
  for (size_t p = 0; p < n; p += kPackPanel) {
    float* panel = packed + p * k;
    const size_t rows = std::min(kPackPanel, n - p);
    for (size_t kk = 0; kk < k; ++kk) {
      float* dst = panel + kk * kPackPanel;
      for (size_t c = 0; c < rows; ++c) dst[c] = w[(p + c) * k + kk];
      for (size_t c = rows; c < kPackPanel; ++c) dst[c] = 0.0f;
    }
  }
}

size_t packed_u8s8_panels_size(size_t n, size_t k) {
  return panels_of(n) * kPackPanel * u8s8_panels_k_pad(k);
}

void pack_u8s8_panels(const int8_t* w, size_t n, size_t k, int8_t* packed) {
  pack_u8s8_padded(w, n, k, u8s8_panels_k_pad(k), packed);
}

size_t packed_u8s8_tiles_size(size_t n, size_t k) {
  return panels_of(n) * kPackPanel * u8s8_tiles_k_pad(k);
}

void pack_u8s8_tiles(const int8_t* w, size_t n, size_t k, int8_t* packed) {
  pack_u8s8_padded(w, n, k, u8s8_tiles_k_pad(k), packed);
}

}  // namespace maum::kernels::ref

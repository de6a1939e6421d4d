// Internal, AVX-512 translation units only (x86/avx512_*.cpp, x86/vnni_*.cpp, x86/bf16_*.cpp):
// vector exp, erf, tanh and the GELU epilogues on 16 floats, softmax over a row, a 16x16 transpose. Everything is static inline so no out-of-line copy
// compiled with AVX-512 flags can be shared with baseline code by the linker.
#pragma once
#include <immintrin.h>

#include <type_traits>

#include "engine/kernels/kernels.h"

namespace maum::kernels::avx512 {

// e^x, Cephes-style: x = n·ln2 + r, degree-6 polynomial on r, 2^n via scalef. ~2 ulp.
static inline __m512 exp_ps(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.7f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

// erf(x): rational approximation on [-4, 4] (the one Eigen and XLA use), |error| ~ 1e-7.
static inline __m512 erf_ps(__m512 a) {
  const __m512 x = _mm512_min_ps(_mm512_max_ps(a, _mm512_set1_ps(-4.0f)), _mm512_set1_ps(4.0f));
  const __m512 x2 = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(-2.72614225801306e-10f);
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(2.77068142495902e-08f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.10102402082508e-06f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-5.69250639462346e-05f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-7.34990630326855e-04f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.95459980854025e-03f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-1.60960333262415e-02f));
  p = _mm512_mul_ps(x, p);
  __m512 q = _mm512_set1_ps(-1.45660718464996e-05f);
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-2.13374055278905e-04f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.68282697438203e-03f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-7.37332916720468e-03f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.42647390514189e-02f));
  return _mm512_div_ps(p, q);
}

static inline __m512 gelu_erf_ps(__m512 x) {
  const __m512 e = erf_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f)));
  return _mm512_mul_ps(_mm512_mul_ps(x, _mm512_set1_ps(0.5f)),
                       _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
}

// 0.5·x·(1 + tanh(u)) = x · (1 - 1 / (1 + e^{2u})), u = sqrt(2/pi)·(x + 0.044715·x³).
static inline __m512 gelu_tanh_ps(__m512 x) {
  const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
  const __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.79788456080286535588f),
                                 _mm512_fmadd_ps(x3, _mm512_set1_ps(0.044715f), x));
  const __m512 e = exp_ps(_mm512_add_ps(u, u));
  const __m512 s = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
  return _mm512_fnmadd_ps(x, s, x);
}

static inline __m512 epilogue_ps(__m512 x, Epilogue epilogue) {
  switch (epilogue) {
    case Epilogue::kGeluErf: return gelu_erf_ps(x);
    case Epilogue::kGeluTanh: return gelu_tanh_ps(x);
    case Epilogue::kNone: break;
  }
  return x;
}

static inline __mmask16 tail_mask(size_t count) {
  return count >= 16 ? static_cast<__mmask16>(0xffff)
                     : static_cast<__mmask16>((1u << count) - 1u);
}

// In place over x[0, n): softmax, three passes (max, exp and sum, scale) with masked tails.
static inline void softmax_row(float* x, size_t n) {
  __m512 vmax = _mm512_set1_ps(-3.402823466e+38f);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    vmax = _mm512_mask_max_ps(vmax, mask, vmax, _mm512_maskz_loadu_ps(mask, x + i));
  }
  const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
  __m512 vsum = _mm512_setzero_ps();
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + i), max));
    vsum = _mm512_mask_add_ps(vsum, mask, vsum, e);
    _mm512_mask_storeu_ps(x + i, mask, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    _mm512_mask_storeu_ps(x + i, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i), inv));
  }
}

// Register tiles are templates on their row count: calls fn(std::integral_constant<int, R>{}, r)
// for groups of 4 rows over [0, rows), then once for the 1..3 rows left.
template <typename Fn>
static inline void for_row_groups(size_t rows, Fn&& fn) {
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) fn(std::integral_constant<int, 4>{}, r);
  switch (rows - r) {
    case 1: fn(std::integral_constant<int, 1>{}, r); break;
    case 2: fn(std::integral_constant<int, 2>{}, r); break;
    case 3: fn(std::integral_constant<int, 3>{}, r); break;
    default: break;
  }
}

// Same for the 16-lane column chunks of a tile: fn(std::integral_constant<int, C>{}) with
// C = min(chunks, 4). chunks >= 1 (callers loop over non-empty column ranges).
template <typename Fn>
static inline void with_chunks(size_t chunks, Fn&& fn) {
  switch (chunks) {
    case 1: fn(std::integral_constant<int, 1>{}); break;
    case 2: fn(std::integral_constant<int, 2>{}); break;
    case 3: fn(std::integral_constant<int, 3>{}); break;
    default: fn(std::integral_constant<int, 4>{}); break;
  }
}

// r[i][j] <- r[j][i] for 16 rows of 16 32-bit lanes: unpack pairs, then 4-lane groups, then
// 128-bit quarters twice (64 shuffles instead of 256 scalar moves).
static inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // r[4g + c] = rows 4g..4g+3 at columns c, c+4, c+8, c+12 (one per 128-bit quarter).
  for (int g = 0; g < 16; g += 4) {
    r[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
    r[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xee);
    r[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
    r[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xee);
  }
  for (int c = 0; c < 4; ++c) {
    t[c] = _mm512_shuffle_f32x4(r[c], r[c + 4], 0x88);
    t[c + 4] = _mm512_shuffle_f32x4(r[c], r[c + 4], 0xdd);
    t[c + 8] = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0x88);
    t[c + 12] = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0xdd);
  }
  for (int c = 0; c < 8; ++c) {
    r[c] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0x88);
    r[c + 8] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0xdd);
  }
}

}  // namespace maum::kernels::avx512

// AVX-512 element-wise kernels: GELU, softmax, residual + LayerNorm, per-row u8 quantization.
#include <immintrin.h>

#include <limits>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/avx512_math.h"

namespace maum::kernels {
namespace {

using avx512::tail_mask;

void gelu_erf(float* x, size_t n) {
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    _mm512_mask_storeu_ps(x + i, mask, avx512::gelu_erf_ps(_mm512_maskz_loadu_ps(mask, x + i)));
  }
}

void gelu_tanh(float* x, size_t n) {
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    _mm512_mask_storeu_ps(x + i, mask, avx512::gelu_tanh_ps(_mm512_maskz_loadu_ps(mask, x + i)));
  }
}

void softmax(float* x, size_t n) {
  if (n == 0) return;
  avx512::softmax_row(x, n);
}

void add_layernorm(float* x, const float* residual, const float* gamma, const float* beta,
                   size_t rows, size_t n, float eps) {
  if (n == 0) return;
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * n;
    __m512 vsum = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
      const __mmask16 mask = tail_mask(n - i);
      __m512 v = _mm512_maskz_loadu_ps(mask, row + i);
      if (residual) {
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, residual + r * n + i));
        _mm512_mask_storeu_ps(row + i, mask, v);
      }
      vsum = _mm512_add_ps(vsum, v);
    }
    const float mean = _mm512_reduce_add_ps(vsum) / static_cast<float>(n);
    const __m512 vmean = _mm512_set1_ps(mean);
    __m512 vvar = _mm512_setzero_ps();
    for (size_t i = 0; i < n; i += 16) {
      const __mmask16 mask = tail_mask(n - i);
      const __m512 d = _mm512_maskz_sub_ps(mask, _mm512_maskz_loadu_ps(mask, row + i), vmean);
      vvar = _mm512_fmadd_ps(d, d, vvar);
    }
    const float var = _mm512_reduce_add_ps(vvar) / static_cast<float>(n);
    const __m512 inv = _mm512_set1_ps(1.0f / __builtin_sqrtf(var + eps));
    for (size_t i = 0; i < n; i += 16) {
      const __mmask16 mask = tail_mask(n - i);
      const __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, row + i), vmean), inv);
      const __m512 y = _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(mask, gamma + i),
                                       _mm512_maskz_loadu_ps(mask, beta + i));
      _mm512_mask_storeu_ps(row + i, mask, y);
    }
  }
}

void quantize_rows_u8(const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale, size_t m,
                      size_t k) {
  const __m512 abs_mask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
  for (size_t r = 0; r < m; ++r) {
    const float* xr = x + r * ldx;
    uint8_t* qr = q + r * ldq;
    __m512 vmax = _mm512_setzero_ps();
    __mmask16 nan = 0;
    for (size_t i = 0; i < k; i += 16) {
      const __mmask16 mask = tail_mask(k - i);
      const __m512 v = _mm512_maskz_loadu_ps(mask, xr + i);
      vmax = _mm512_max_ps(vmax, _mm512_and_ps(v, abs_mask));
      nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    }
    // A NaN makes the scale NaN (see the reference).
    const float amax = nan ? std::numeric_limits<float>::quiet_NaN() : _mm512_reduce_max_ps(vmax);
    // Same scalar arithmetic as the reference, so q and scale are bit-identical.
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    scale[r] = amax / 127.0f;
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
    const __m512i offset = _mm512_set1_epi32(128);
    // Clamping before rounding equals rounding before clamping (the bounds are integers); the
    // conversion rounds half to even itself (embedded rounding, whatever MXCSR says).
    auto quantize16 = [&](__m512 v) {
      v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v, vinv), lo), hi);
      return _mm512_add_epi32(
          _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), offset);
    };
    size_t i = 0;
    // Full blocks: narrow in registers and store 16 bytes (vpmovdb to memory is slow on some
    // cores, e.g. AMD Zen 4).
    for (; i + 16 <= k; i += 16) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(qr + i),
                       _mm512_cvtepi32_epi8(quantize16(_mm512_loadu_ps(xr + i))));
    }
    if (i < k) {
      const __mmask16 mask = tail_mask(k - i);
      _mm512_mask_cvtepi32_storeu_epi8(qr + i, mask, quantize16(_mm512_maskz_loadu_ps(mask, xr + i)));
    }
  }
}

}  // namespace

void fill_avx512_elementwise(Ops& ops) {
  ops.gelu_erf = gelu_erf;
  ops.gelu_tanh = gelu_tanh;
  ops.softmax = softmax;
  ops.attention_one_query = attention_one_query_using<softmax>;
  ops.add_layernorm = add_layernorm;
  ops.quantize_rows_u8 = quantize_rows_u8;
}

}  // namespace maum::kernels

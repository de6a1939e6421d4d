// The avx2 table (AVX2 + FMA, no AVX-512): fp32 GEMM through OpenBLAS (its Haswell kernels are
// the right ones for such CPUs) with the bias + GELU epilogue vectorized here, the vpmaddwd int8
// GEMM (avx2_int8.cpp), and element-wise kernels.
#include <cblas.h>
#include <immintrin.h>

#include <limits>

#include <cmath>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/avx2_math.h"

namespace maum::kernels {
namespace {

using avx2::tail_mask;

void apply_epilogue_rows(float* y, size_t ldy, size_t m, size_t n_begin, size_t n_end,
                         const float* bias, Epilogue epilogue) {
  for (size_t r = 0; r < m; ++r) {
    float* row = y + r * ldy;
    for (size_t c = n_begin; c < n_end; c += 8) {
      const __m256i mask = tail_mask(n_end - c);
      __m256 v = _mm256_maskload_ps(row + c, mask);
      if (bias) v = _mm256_add_ps(v, _mm256_maskload_ps(bias + c, mask));
      _mm256_maskstore_ps(row + c, mask, avx2::epilogue_ps(v, epilogue));
    }
  }
}

void linear_f32(const float* x, size_t ldx, const LinearF32& w, float* y, size_t ldy, size_t m,
                size_t n_begin, size_t n_end, Epilogue epilogue) {
  if (n_end <= n_begin || m == 0) return;
  const size_t k = w.k;
  if (k == 0) {
    for (size_t r = 0; r < m; ++r)
      for (size_t c = n_begin; c < n_end; ++c) y[r * ldy + c] = 0.0f;
  } else {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m),
                static_cast<int>(n_end - n_begin), static_cast<int>(k), 1.0f, x,
                static_cast<int>(ldx), w.w + n_begin * k, static_cast<int>(k), 0.0f, y + n_begin,
                static_cast<int>(ldy));
  }
  apply_epilogue_rows(y, ldy, m, n_begin, n_end, w.bias, epilogue);
}

void gemm_f32(const float* x, size_t ldx, const float* w, const float* bias, float* y, size_t ldy,
              size_t m, size_t n, size_t k) {
  LinearF32 lw;
  lw.w = w;
  lw.bias = bias;
  lw.n = n;
  lw.k = k;
  linear_f32(x, ldx, lw, y, ldy, m, 0, n, Epilogue::kNone);
}

void gelu_erf(float* x, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    const __m256i mask = tail_mask(n - i);
    _mm256_maskstore_ps(x + i, mask, avx2::gelu_erf_ps(_mm256_maskload_ps(x + i, mask)));
  }
}

void gelu_tanh(float* x, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    const __m256i mask = tail_mask(n - i);
    _mm256_maskstore_ps(x + i, mask, avx2::gelu_tanh_ps(_mm256_maskload_ps(x + i, mask)));
  }
}

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

void softmax(float* x, size_t n) {
  if (n == 0) return;
  const __m256 lowest = _mm256_set1_ps(-3.402823466e+38f);
  __m256 vmax = lowest;
  for (size_t i = 0; i < n; i += 8) {
    const __m256i mask = tail_mask(n - i);
    vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(lowest, _mm256_maskload_ps(x + i, mask),
                                                _mm256_castsi256_ps(mask)));
  }
  const __m256 max = _mm256_set1_ps(hmax(vmax));
  __m256 vsum = _mm256_setzero_ps();
  for (size_t i = 0; i < n; i += 8) {
    const __m256i mask = tail_mask(n - i);
    const __m256 e = _mm256_and_ps(avx2::exp_ps(_mm256_sub_ps(_mm256_maskload_ps(x + i, mask), max)),
                                   _mm256_castsi256_ps(mask));
    vsum = _mm256_add_ps(vsum, e);
    _mm256_maskstore_ps(x + i, mask, e);
  }
  const __m256 inv = _mm256_set1_ps(1.0f / hsum(vsum));
  for (size_t i = 0; i < n; i += 8) {
    const __m256i mask = tail_mask(n - i);
    _mm256_maskstore_ps(x + i, mask, _mm256_mul_ps(_mm256_maskload_ps(x + i, mask), inv));
  }
}

void add_layernorm(float* x, const float* residual, const float* gamma, const float* beta,
                   size_t rows, size_t n, float eps) {
  if (n == 0) return;
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * n;
    __m256 vsum = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 8) {
      const __m256i mask = tail_mask(n - i);
      __m256 v = _mm256_maskload_ps(row + i, mask);
      if (residual) {
        v = _mm256_add_ps(v, _mm256_maskload_ps(residual + r * n + i, mask));
        _mm256_maskstore_ps(row + i, mask, v);
      }
      vsum = _mm256_add_ps(vsum, v);
    }
    const float mean = hsum(vsum) / static_cast<float>(n);
    const __m256 vmean = _mm256_set1_ps(mean);
    __m256 vvar = _mm256_setzero_ps();
    for (size_t i = 0; i < n; i += 8) {
      const __m256i mask = tail_mask(n - i);
      const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(row + i, mask), vmean),
                                     _mm256_castsi256_ps(mask));
      vvar = _mm256_fmadd_ps(d, d, vvar);
    }
    const float var = hsum(vvar) / static_cast<float>(n);
    const __m256 inv = _mm256_set1_ps(1.0f / __builtin_sqrtf(var + eps));
    for (size_t i = 0; i < n; i += 8) {
      const __m256i mask = tail_mask(n - i);
      const __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(row + i, mask), vmean), inv);
      _mm256_maskstore_ps(row + i, mask,
                          _mm256_fmadd_ps(d, _mm256_maskload_ps(gamma + i, mask),
                                          _mm256_maskload_ps(beta + i, mask)));
    }
  }
}

void quantize_rows_u8(const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale, size_t m,
                      size_t k) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (size_t r = 0; r < m; ++r) {
    const float* xr = x + r * ldx;
    uint8_t* qr = q + r * ldq;
    __m256 vmax = _mm256_setzero_ps(), vnan = _mm256_setzero_ps();
    for (size_t i = 0; i < k; i += 8) {
      const __m256 v = _mm256_maskload_ps(xr + i, tail_mask(k - i));
      vmax = _mm256_max_ps(vmax, _mm256_and_ps(v, abs_mask));
      vnan = _mm256_or_ps(vnan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    }
    // A NaN makes the scale NaN (see the reference).
    const float amax = _mm256_movemask_ps(vnan) ? std::numeric_limits<float>::quiet_NaN() : hmax(vmax);
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;  // as in the reference: bit-identical
    scale[r] = amax / 127.0f;
    const __m256 vinv = _mm256_set1_ps(inv);
    size_t i = 0;
    for (; i + 8 <= k; i += 8) {
      __m256 v = _mm256_mul_ps(_mm256_loadu_ps(xr + i), vinv);
      v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      v = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
      const __m256i qi = _mm256_add_epi32(_mm256_cvtps_epi32(v), _mm256_set1_epi32(128));
      // 8 int32 in 0..255 -> 8 bytes.
      const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
      const __m128i b8 = _mm_packus_epi16(w16, w16);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(qr + i), b8);
    }
    for (; i < k; ++i) {
      float v = __builtin_nearbyintf(xr[i] * inv);
      v = !(v >= -127.0f) ? -127.0f : (v > 127.0f ? 127.0f : v);  // NaN -> -127, as above
      qr[i] = static_cast<uint8_t>(static_cast<int>(v) + 128);
    }
  }
}

}  // namespace

void fill_avx2_int8(Ops& ops);
void fill_avx2_attention(Ops& ops);

void fill_avx2_ops(Ops& ops) {
  ops.name = "avx2: OpenBLAS fp32 GEMM + AVX2 epilogues, vpmaddwd int8 GEMM (no vpmaddubsw)";
  ops.gemm_f32 = gemm_f32;
  ops.linear_f32 = linear_f32;
  ops.gelu_erf = gelu_erf;
  ops.gelu_tanh = gelu_tanh;
  ops.softmax = softmax;
  ops.attention_one_query = attention_one_query_using<softmax>;
  ops.add_layernorm = add_layernorm;
  ops.quantize_rows_u8 = quantize_rows_u8;
  fill_avx2_int8(ops);
  fill_avx2_attention(ops);
}

}  // namespace maum::kernels

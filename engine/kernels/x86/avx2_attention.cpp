// AVX2 attention for one head of one sequence: the same scheme as avx512_attention.cpp with
// 8-wide vectors (K transposed once into scratch, 16-query blocks: scores -> softmax -> P·V).
#include <immintrin.h>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/avx2_math.h"

namespace maum::kernels {
namespace {

using avx2::tail_mask;

constexpr size_t kQueryBlock = 16;

// s[r][jc + 8c] = scale · Σ_d q[r][d] · kt[d][jc + 8c], R rows x NC 8-key chunks.
template <int R, int NC>
void scores_tile(const float* q, size_t ld, const float* kt, size_t seq_pad, size_t head_dim,
                 float scale, float* s, size_t jc) {
  __m256 acc[R][NC];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) acc[r][c] = _mm256_setzero_ps();
  for (size_t d = 0; d < head_dim; ++d) {
    __m256 kv[NC];
#pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) kv[c] = _mm256_loadu_ps(kt + d * seq_pad + jc + 8 * c);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 qv = _mm256_broadcast_ss(q + r * ld + d);
#pragma GCC unroll 4
      for (int c = 0; c < NC; ++c) acc[r][c] = _mm256_fmadd_ps(qv, kv[c], acc[r][c]);
    }
  }
  const __m256 vscale = _mm256_set1_ps(scale);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < NC; ++c)
      _mm256_storeu_ps(s + r * seq_pad + jc + 8 * c, _mm256_mul_ps(acc[r][c], vscale));
}

template <int R>
void scores_rows(const float* q, size_t ld, const float* kt, size_t seq_pad, size_t head_dim,
                 float scale, float* s) {
  // seq_pad is a multiple of 16: whole pairs of 8-key chunks.
  for (size_t jc = 0; jc < seq_pad; jc += 16) scores_tile<R, 2>(q, ld, kt, seq_pad, head_dim, scale, s, jc);
}

// out[r][dc + 8c] = Σ_j p[r][j] · v[j][dc + 8c], R rows x DC 8-wide chunks of head_dim.
template <int R, int DC>
void pv_tile(const float* p, size_t seq_pad, const float* v, size_t ld, size_t seq, float* out,
             size_t ldo, size_t dc, size_t width) {
  __m256 acc[R][DC];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < DC; ++c) acc[r][c] = _mm256_setzero_ps();
  __m256i masks[DC];
#pragma GCC unroll 4
  for (int c = 0; c < DC; ++c) masks[c] = tail_mask(width > size_t(8 * c) ? width - 8 * c : 0);
  const float* vj = v + dc;
  for (size_t j = 0; j < seq; ++j, vj += ld) {
    __m256 vv[DC];
#pragma GCC unroll 4
    for (int c = 0; c < DC; ++c) vv[c] = _mm256_maskload_ps(vj + 8 * c, masks[c]);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 pv = _mm256_broadcast_ss(p + r * seq_pad + j);
#pragma GCC unroll 4
      for (int c = 0; c < DC; ++c) acc[r][c] = _mm256_fmadd_ps(pv, vv[c], acc[r][c]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < DC; ++c) _mm256_maskstore_ps(out + r * ldo + dc + 8 * c, masks[c], acc[r][c]);
}

template <int R>
void pv_rows(const float* p, size_t seq_pad, const float* v, size_t ld, size_t seq,
             size_t head_dim, float* out, size_t ldo) {
  for (size_t dc = 0; dc < head_dim; dc += 24) {
    const size_t width = head_dim - dc < 24 ? head_dim - dc : 24;
    pv_tile<R, 3>(p, seq_pad, v, ld, seq, out, ldo, dc, width);
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

// Softmax over the first n of a row padded to a multiple of 8 (the padding is scratch).
void softmax_prefix(float* x, size_t n) {
  const __m256 lowest = _mm256_set1_ps(-3.402823466e+38f);
  __m256 vmax = lowest;
  for (size_t i = 0; i < n; i += 8) {
    const __m256i mask = tail_mask(n - i);
    vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(lowest, _mm256_loadu_ps(x + i), _mm256_castsi256_ps(mask)));
  }
  const __m256 max = _mm256_set1_ps(hmax(vmax));
  __m256 vsum = _mm256_setzero_ps();
  for (size_t i = 0; i < n; i += 8) {
    const __m256i mask = tail_mask(n - i);
    const __m256 e = _mm256_and_ps(avx2::exp_ps(_mm256_sub_ps(_mm256_loadu_ps(x + i), max)),
                                   _mm256_castsi256_ps(mask));
    vsum = _mm256_add_ps(vsum, e);
    _mm256_storeu_ps(x + i, e);
  }
  const __m256 inv = _mm256_set1_ps(1.0f / hsum(vsum));
  for (size_t i = 0; i < n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
}

void attention_head(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                    size_t head_dim, float scale, float* out, size_t ldo, float* scratch) {
  if (seq == 0 || head_dim == 0) return;
  const size_t seq_pad = (seq + 15) / 16 * 16;
  float* kt = scratch;
  float* s = scratch + head_dim * seq_pad;
  for (size_t d = 0; d < head_dim; ++d) {
    float* row = kt + d * seq_pad;
    for (size_t j = 0; j < seq; ++j) row[j] = k[j * ld + d];
    for (size_t j = seq; j < seq_pad; ++j) row[j] = 0.0f;
  }
  for (size_t i0 = 0; i0 < seq; i0 += kQueryBlock) {
    const size_t rows = seq - i0 < kQueryBlock ? seq - i0 : kQueryBlock;
    const float* qb = q + i0 * ld;
    size_t r = 0;
    for (; r + 4 <= rows; r += 4) scores_rows<4>(qb + r * ld, ld, kt, seq_pad, head_dim, scale, s + r * seq_pad);
    for (; r < rows; ++r) scores_rows<1>(qb + r * ld, ld, kt, seq_pad, head_dim, scale, s + r * seq_pad);
    for (size_t i = 0; i < rows; ++i) softmax_prefix(s + i * seq_pad, seq);
    float* ob = out + i0 * ldo;
    r = 0;
    for (; r + 4 <= rows; r += 4) pv_rows<4>(s + r * seq_pad, seq_pad, v, ld, seq, head_dim, ob + r * ldo, ldo);
    for (; r < rows; ++r) pv_rows<1>(s + r * seq_pad, seq_pad, v, ld, seq, head_dim, ob + r * ldo, ldo);
  }
}

}  // namespace

void fill_avx2_attention(Ops& ops) { ops.attention_head = attention_head; }

}  // namespace maum::kernels

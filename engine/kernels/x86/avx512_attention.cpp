// AVX-512 attention for one head of one sequence. K is transposed once into scratch
// ([head_dim][seq rounded up to 16]) so scores are register-tiled FMAs over contiguous key
// columns; queries go in blocks of 16 rows: scores [16][seq] -> softmax per row -> P·V, so the
// largest buffer is 16 x seq, never seq x seq.
#include <immintrin.h>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/avx512_math.h"

namespace maum::kernels {
namespace {

using avx512::tail_mask;

constexpr size_t kQueryBlock = 16;

// s[r][jc + 16c] = scale · Σ_d q[r][d] · kt[d][jc + 16c], R rows x NC 16-key chunks.
template <int R, int NC>
void scores_tile(const float* q, size_t ld, const float* kt, size_t seq_pad, size_t head_dim,
                 float scale, float* s, size_t jc) {
  __m512 acc[R][NC];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_setzero_ps();
  for (size_t d = 0; d < head_dim; ++d) {
    __m512 kv[NC];
    for (int c = 0; c < NC; ++c) kv[c] = _mm512_loadu_ps(kt + d * seq_pad + jc + 16 * c);
    for (int r = 0; r < R; ++r) {
      const __m512 qv = _mm512_set1_ps(q[r * ld + d]);
      for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_fmadd_ps(qv, kv[c], acc[r][c]);
    }
  }
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c)
      _mm512_storeu_ps(s + r * seq_pad + jc + 16 * c, _mm512_mul_ps(acc[r][c], vscale));
}

template <int R>
void scores_rows(const float* q, size_t ld, const float* kt, size_t seq_pad, size_t head_dim,
                 float scale, float* s) {
  for (size_t jc = 0; jc < seq_pad; jc += 64) {
    switch ((seq_pad - jc) / 16) {
      case 1: scores_tile<R, 1>(q, ld, kt, seq_pad, head_dim, scale, s, jc); break;
      case 2: scores_tile<R, 2>(q, ld, kt, seq_pad, head_dim, scale, s, jc); break;
      case 3: scores_tile<R, 3>(q, ld, kt, seq_pad, head_dim, scale, s, jc); break;
      default: scores_tile<R, 4>(q, ld, kt, seq_pad, head_dim, scale, s, jc); break;
    }
  }
}

// out[r][dc + 16c] = Σ_j p[r][j] · v[j][dc + 16c], R rows x DC 16-wide chunks of head_dim.
template <int R, int DC>
void pv_tile(const float* p, size_t seq_pad, const float* v, size_t ld, size_t seq, float* out,
             size_t ldo, size_t dc, __mmask16 last_mask) {
  __m512 acc[R][DC];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < DC; ++c) acc[r][c] = _mm512_setzero_ps();
  __mmask16 masks[DC];
  for (int c = 0; c < DC; ++c) masks[c] = c == DC - 1 ? last_mask : static_cast<__mmask16>(0xffff);
  const float* prow[R];
  for (int r = 0; r < R; ++r) prow[r] = p + r * seq_pad;
  const float* vj = v + dc;
  for (size_t j = 0; j < seq; ++j, vj += ld) {
    __m512 vv[DC];
#pragma GCC unroll 4
    for (int c = 0; c < DC; ++c) vv[c] = _mm512_maskz_loadu_ps(masks[c], vj + 16 * c);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 pv = _mm512_set1_ps(prow[r][j]);
#pragma GCC unroll 4
      for (int c = 0; c < DC; ++c) acc[r][c] = _mm512_fmadd_ps(pv, vv[c], acc[r][c]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int c = 0; c < DC; ++c) _mm512_mask_storeu_ps(out + r * ldo + dc + 16 * c, masks[c], acc[r][c]);
  }
}

template <int R>
void pv_rows(const float* p, size_t seq_pad, const float* v, size_t ld, size_t seq,
             size_t head_dim, float* out, size_t ldo) {
  for (size_t dc = 0; dc < head_dim; dc += 64) {
    const size_t width = head_dim - dc < 64 ? head_dim - dc : 64;
    const size_t chunks = (width + 15) / 16;
    const __mmask16 mask = tail_mask(width - (chunks - 1) * 16);
    switch (chunks) {
      case 1: pv_tile<R, 1>(p, seq_pad, v, ld, seq, out, ldo, dc, mask); break;
      case 2: pv_tile<R, 2>(p, seq_pad, v, ld, seq, out, ldo, dc, mask); break;
      case 3: pv_tile<R, 3>(p, seq_pad, v, ld, seq, out, ldo, dc, mask); break;
      default: pv_tile<R, 4>(p, seq_pad, v, ld, seq, out, ldo, dc, mask); break;
    }
  }
}

void softmax_prefix(float* x, size_t n) {
  __m512 vmax = _mm512_set1_ps(-3.402823466e+38f);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    vmax = _mm512_mask_max_ps(vmax, mask, vmax, _mm512_maskz_loadu_ps(mask, x + i));
  }
  const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
  __m512 vsum = _mm512_setzero_ps();
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    const __m512 e = avx512::exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + i), max));
    vsum = _mm512_mask_add_ps(vsum, mask, vsum, e);
    _mm512_mask_storeu_ps(x + i, mask, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 mask = tail_mask(n - i);
    _mm512_mask_storeu_ps(x + i, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + i), inv));
  }
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
    switch (rows - r) {
      case 1: scores_rows<1>(qb + r * ld, ld, kt, seq_pad, head_dim, scale, s + r * seq_pad); break;
      case 2: scores_rows<2>(qb + r * ld, ld, kt, seq_pad, head_dim, scale, s + r * seq_pad); break;
      case 3: scores_rows<3>(qb + r * ld, ld, kt, seq_pad, head_dim, scale, s + r * seq_pad); break;
      default: break;
    }
    for (size_t i = 0; i < rows; ++i) softmax_prefix(s + i * seq_pad, seq);
    float* ob = out + i0 * ldo;
    r = 0;
    for (; r + 4 <= rows; r += 4) pv_rows<4>(s + r * seq_pad, seq_pad, v, ld, seq, head_dim, ob + r * ldo, ldo);
    switch (rows - r) {
      case 1: pv_rows<1>(s + r * seq_pad, seq_pad, v, ld, seq, head_dim, ob + r * ldo, ldo); break;
      case 2: pv_rows<2>(s + r * seq_pad, seq_pad, v, ld, seq, head_dim, ob + r * ldo, ldo); break;
      case 3: pv_rows<3>(s + r * seq_pad, seq_pad, v, ld, seq, head_dim, ob + r * ldo, ldo); break;
      default: break;
    }
  }
}

}  // namespace

void fill_avx512_attention(Ops& ops) { ops.attention_head = attention_head; }

}  // namespace maum::kernels

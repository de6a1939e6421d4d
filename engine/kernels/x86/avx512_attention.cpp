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
    avx512::with_chunks((seq_pad - jc) / 16, [&](auto chunks) {
      scores_tile<R, chunks()>(q, ld, kt, seq_pad, head_dim, scale, s, jc);
    });
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
    avx512::with_chunks(chunks, [&](auto tile_chunks) {
      pv_tile<R, tile_chunks()>(p, seq_pad, v, ld, seq, out, ldo, dc, mask);
    });
  }
}

// kt[d][j] = k[j][d] for d < head_dim, j < seq_pad (keys past seq are zero), in 16x16 blocks.
void transpose_keys(const float* k, size_t ld, size_t seq, size_t head_dim, float* kt,
                    size_t seq_pad) {
  __m512 r[16];
  for (size_t j0 = 0; j0 < seq_pad; j0 += 16) {
    for (size_t d0 = 0; d0 < head_dim; d0 += 16) {
      const __mmask16 mask = tail_mask(head_dim - d0);
      for (size_t i = 0; i < 16; ++i)
        r[i] = j0 + i < seq ? _mm512_maskz_loadu_ps(mask, k + (j0 + i) * ld + d0) : _mm512_setzero_ps();
      avx512::transpose16x16(r);
      const size_t rows = head_dim - d0 < 16 ? head_dim - d0 : 16;
      for (size_t i = 0; i < rows; ++i) _mm512_storeu_ps(kt + (d0 + i) * seq_pad + j0, r[i]);
    }
  }
}

void attention_head(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                    size_t head_dim, float scale, float* out, size_t ldo, float* scratch) {
  if (seq == 0 || head_dim == 0) return;
  const size_t seq_pad = (seq + 15) / 16 * 16;
  float* kt = scratch;
  float* s = scratch + head_dim * seq_pad;
  transpose_keys(k, ld, seq, head_dim, kt, seq_pad);
  for (size_t i0 = 0; i0 < seq; i0 += kQueryBlock) {
    const size_t rows = seq - i0 < kQueryBlock ? seq - i0 : kQueryBlock;
    const float* qb = q + i0 * ld;
    avx512::for_row_groups(rows, [&](auto tile_rows, size_t r) {
      scores_rows<tile_rows()>(qb + r * ld, ld, kt, seq_pad, head_dim, scale, s + r * seq_pad);
    });
    for (size_t i = 0; i < rows; ++i) avx512::softmax_row(s + i * seq_pad, seq);
    float* ob = out + i0 * ldo;
    avx512::for_row_groups(rows, [&](auto tile_rows, size_t r) {
      pv_rows<tile_rows()>(s + r * seq_pad, seq_pad, v, ld, seq, head_dim, ob + r * ldo, ldo);
    });
  }
}

}  // namespace

void fill_avx512_attention(Ops& ops) { ops.attention_head = attention_head; }

}  // namespace maum::kernels

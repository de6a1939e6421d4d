// AVX-512 BF16 attention for one head of one sequence, used by int8 models on CPUs with
// AVX512_BF16: Q·Kᵀ and P·V take bf16 operands (rounded to nearest even) and accumulate in fp32
// with vdpbf16ps, which does two multiply-adds per fp32 lane, twice the fp32 FMA rate. Softmax
// stays fp32. Same blocking as the fp32 kernel (avx512_attention.cpp): 16 query rows at a time,
// scores [16][seq], no seq x seq buffer.
//
// vdpbf16ps multiplies bf16 *pairs*: lane i of the result gains a[2i]·b[2i] + a[2i+1]·b[2i+1].
// So every operand is stored as 32-bit pairs along the summed dimension:
//   keys   kp[p][j]  = (k[j][2p], k[j][2p+1])      head_dim pairs x keys (transposed K)
//   values vp[t][d]  = (v[2t][d], v[2t+1][d])      key pairs x head_dim
//   query  qp[r][p]  = (q[r][2p], q[r][2p+1])      broadcast against 16 keys
//   probs  pp[r][t]  = (p[r][2t], p[r][2t+1])      broadcast against 16 dims
// Odd head_dim / odd seq: the missing half of the last pair is zero, as are keys past seq.
#include <immintrin.h>

#include <cstdint>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/vec_avx512.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {
namespace {

using V = x86::Vec<float, x86::Avx512>;

constexpr size_t kQueryBlock = 16;

// Same 64 bytes, other element type (GCC vector casts reinterpret, they do not convert).
inline __m512bh as_bh(__m512i x) { return (__m512bh)x; }
inline __m512i as_si(__m512bh x) { return (__m512i)x; }

// 32 floats from x[0, count) (zeros past count) as 16 bf16 pairs in order.
inline __m512i pairs_of(const float* x, size_t count) {
  const __m512 lo = _mm512_maskz_loadu_ps(V::tail_mask(count), x);
  const __m512 hi = count > 16 ? _mm512_maskz_loadu_ps(V::tail_mask(count - 16), x + 16)
                               : _mm512_setzero_ps();
  return as_si(_mm512_cvtne2ps_pbh(hi, lo));
}

// kp[p][j] for p < pairs, j < seq_pad, in 16 x 16 blocks of pairs: a block's rows are 16 keys'
// pairs, transposed into 16 pair-rows of 16 keys.
void pack_keys(const float* k, size_t ld, size_t seq, size_t head_dim, uint32_t* kp,
               size_t seq_pad) {
  const size_t pairs = (head_dim + 1) / 2;
  __m512 r[16];
  for (size_t j0 = 0; j0 < seq_pad; j0 += 16) {
    for (size_t p0 = 0; p0 < pairs; p0 += 16) {
      const size_t d0 = 2 * p0;
      for (size_t i = 0; i < 16; ++i)
        r[i] = j0 + i < seq ? _mm512_castsi512_ps(pairs_of(k + (j0 + i) * ld + d0, head_dim - d0))
                            : _mm512_setzero_ps();
      V::transpose(r);
      const size_t rows = pairs - p0 < 16 ? pairs - p0 : 16;
      for (size_t i = 0; i < rows; ++i)
        _mm512_storeu_ps(reinterpret_cast<float*>(kp + (p0 + i) * seq_pad + j0), r[i]);
    }
  }
}

// vp[t][d] for t < (seq + 1) / 2, d < dim_pad (zero past head_dim).
void pack_values(const float* v, size_t ld, size_t seq, size_t head_dim, uint32_t* vp,
                 size_t dim_pad) {
  // Interleaves [a0..a15 | b0..b15] (bf16) into (a0,b0), (a1,b1), ...
  const __m512i interleave = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                              24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17,
                                              1, 16, 0);
  for (size_t t = 0; 2 * t < seq; ++t) {
    const float* a = v + 2 * t * ld;
    const bool has_b = 2 * t + 1 < seq;
    for (size_t d0 = 0; d0 < dim_pad; d0 += 16) {
      const __mmask16 mask = d0 < head_dim ? V::tail_mask(head_dim - d0) : 0;
      const __m512 va = _mm512_maskz_loadu_ps(mask, a + d0);
      const __m512 vb = has_b ? _mm512_maskz_loadu_ps(mask, a + ld + d0) : _mm512_setzero_ps();
      const __m512i both = as_si(_mm512_cvtne2ps_pbh(vb, va));
      _mm512_storeu_si512(vp + t * dim_pad + d0, _mm512_permutexvar_epi16(interleave, both));
    }
  }
}

// s[r][jc + 16c] = scale · Σ_p qp[r][p] · kp[p][jc + 16c], R rows x NC 16-key chunks.
template <int R, int NC>
void scores_tile(const uint32_t* qp, size_t ldq, const uint32_t* kp, size_t seq_pad, size_t pairs,
                 float scale, float* s, size_t jc) {
  __m512 acc[R][NC];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_setzero_ps();
  for (size_t p = 0; p < pairs; ++p) {
    __m512bh kv[NC];
    for (int c = 0; c < NC; ++c) kv[c] = as_bh(_mm512_loadu_si512(kp + p * seq_pad + jc + 16 * c));
    for (int r = 0; r < R; ++r) {
      const __m512bh qv = as_bh(_mm512_set1_epi32(static_cast<int>(qp[r * ldq + p])));
      for (int c = 0; c < NC; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], qv, kv[c]);
    }
  }
  const __m512 vscale = _mm512_set1_ps(scale);
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < NC; ++c)
      _mm512_storeu_ps(s + r * seq_pad + jc + 16 * c, _mm512_mul_ps(acc[r][c], vscale));
}

template <int R>
void scores_rows(const uint32_t* qp, size_t ldq, const uint32_t* kp, size_t seq_pad, size_t pairs,
                 float scale, float* s) {
  for (size_t jc = 0; jc < seq_pad; jc += 64) {
    x86::with_count<4>((seq_pad - jc) / 16, [&](auto chunks) {
      scores_tile<R, chunks()>(qp, ldq, kp, seq_pad, pairs, scale, s, jc);
    });
  }
}

// out[r][dc + 16c] = Σ_t pp[r][t] · vp[t][dc + 16c], R rows x DC 16-wide chunks of head_dim.
template <int R, int DC>
void pv_tile(const uint32_t* pp, size_t ldp, const uint32_t* vp, size_t dim_pad, size_t key_pairs,
             float* out, size_t ldo, size_t dc, __mmask16 last_mask) {
  __m512 acc[R][DC];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < DC; ++c) acc[r][c] = _mm512_setzero_ps();
  for (size_t t = 0; t < key_pairs; ++t) {
    __m512bh vv[DC];
    for (int c = 0; c < DC; ++c) vv[c] = as_bh(_mm512_loadu_si512(vp + t * dim_pad + dc + 16 * c));
    for (int r = 0; r < R; ++r) {
      const __m512bh pv = as_bh(_mm512_set1_epi32(static_cast<int>(pp[r * ldp + t])));
      for (int c = 0; c < DC; ++c) acc[r][c] = _mm512_dpbf16_ps(acc[r][c], pv, vv[c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < DC; ++c) {
      const __mmask16 mask = c == DC - 1 ? last_mask : static_cast<__mmask16>(0xffff);
      _mm512_mask_storeu_ps(out + r * ldo + dc + 16 * c, mask, acc[r][c]);
    }
}

template <int R>
void pv_rows(const uint32_t* pp, size_t ldp, const uint32_t* vp, size_t dim_pad, size_t key_pairs,
             size_t head_dim, float* out, size_t ldo) {
  for (size_t dc = 0; dc < head_dim; dc += 64) {
    const size_t width = head_dim - dc < 64 ? head_dim - dc : 64;
    const size_t chunks = (width + 15) / 16;
    const __mmask16 mask = V::tail_mask(width - (chunks - 1) * 16);
    x86::with_count<4>(chunks, [&](auto tile_chunks) {
      pv_tile<R, tile_chunks()>(pp, ldp, vp, dim_pad, key_pairs, out, ldo, dc, mask);
    });
  }
}

void attention_head_bf16(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                         size_t head_dim, float scale, float* out, size_t ldo, float* scratch) {
  if (seq == 0 || head_dim == 0) return;
  const size_t seq_pad = (seq + 15) / 16 * 16;
  const size_t pairs = (head_dim + 1) / 2;
  const size_t pairs_pad = (pairs + 15) / 16 * 16;
  const size_t dim_pad = (head_dim + 15) / 16 * 16;
  const size_t key_pairs = (seq + 1) / 2;
  const size_t ldp = seq_pad / 2;
  // Scratch (32-bit units, every part 64-byte aligned), within attention_scratch_floats():
  // kp pairs x seq_pad, vp seq_pad/2 x dim_pad, s 16 x seq_pad, pp 16 x seq_pad/2, qp 16 x pairs_pad.
  auto* kp = reinterpret_cast<uint32_t*>(scratch);
  uint32_t* vp = kp + pairs * seq_pad;
  auto* s = reinterpret_cast<float*>(vp + ldp * dim_pad);
  auto* pp = reinterpret_cast<uint32_t*>(s + kQueryBlock * seq_pad);
  uint32_t* qp = pp + kQueryBlock * ldp;
  pack_keys(k, ld, seq, head_dim, kp, seq_pad);
  pack_values(v, ld, seq, head_dim, vp, dim_pad);
  for (size_t i0 = 0; i0 < seq; i0 += kQueryBlock) {
    const size_t rows = seq - i0 < kQueryBlock ? seq - i0 : kQueryBlock;
    for (size_t r = 0; r < rows; ++r)
      for (size_t p0 = 0; p0 < pairs; p0 += 16)
        _mm512_storeu_si512(qp + r * pairs_pad + p0,
                            pairs_of(q + (i0 + r) * ld + 2 * p0, head_dim - 2 * p0));
    x86::for_row_groups(rows, [&](auto tile_rows, size_t r) {
      scores_rows<tile_rows()>(qp + r * pairs_pad, pairs_pad, kp, seq_pad, pairs, scale,
                               s + r * seq_pad);
    });
    for (size_t r = 0; r < rows; ++r) {
      float* row = s + r * seq_pad;
      x86::softmax_row<V>(row, seq);
      // Probabilities as pairs; p past seq is zero (those keys' scores were computed on padding).
      for (size_t j = 0; j < seq_pad; j += 32) {
        const size_t have = seq > j ? seq - j : 0;
        const __m512i p = have ? pairs_of(row + j, have) : _mm512_setzero_si512();
        const size_t units = seq_pad - j >= 32 ? 16 : (seq_pad - j) / 2;
        _mm512_mask_storeu_epi32(pp + r * ldp + j / 2, V::tail_mask(units), p);
      }
    }
    float* ob = out + i0 * ldo;
    x86::for_row_groups(rows, [&](auto tile_rows, size_t r) {
      pv_rows<tile_rows()>(pp + r * ldp, ldp, vp, dim_pad, key_pairs, head_dim, ob + r * ldo, ldo);
    });
  }
}

}  // namespace

void fill_bf16_attention(Ops& ops) { ops.attention_head_bf16 = attention_head_bf16; }

}  // namespace maum::kernels

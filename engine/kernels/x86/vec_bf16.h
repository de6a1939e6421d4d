// Internal to the x86 kernel files: Ops::linear_bf16 with fp32 FMAs on bf16 values widened to
// fp32 (AVX2 and AVX-512 without AVX512_BF16), written once against Vec<float, Tag> and
// instantiated by x86/avx2_bf16.cpp and x86/avx512_bf16.cpp with their own Vec and tile (include
// x86/vec_avx2.h or x86/vec_avx512.h first).
//
// Weights: the shared panel layout [n/16][k/2][16][2] (ref::pack_bf16_panels), read 16 columns'
// pairs (64 bytes) per k pair; a pair widens to two fp32 vectors by bit operations only: the odd
// element is the 32-bit unit with its low half cleared, the even one the unit shifted left by 16.
// Activations: each row block is rounded once per call (kernels.h's rule, in integer vector
// operations) into a per-thread buffer of floats whose low 16 bits are zero. Every product of two
// bf16 values is exact in fp32, and each output is summed in the reference's order (per pair: odd,
// then even; K blocks stored to y and reloaded unchanged), so the result before the epilogue is
// bit-identical to ref::linear_bf16 wherever no product or partial sum is subnormal.
#pragma once
#include <immintrin.h>

#include <cstdint>
#include <vector>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/vec.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels::x86 {
namespace {  // compiled with each ISA's flags: internal linkage (see x86/vec.h)

#if defined(__AVX512F__)
inline __m512 bf16_odd(__m512 pairs) {
  return _mm512_castsi512_ps(
      _mm512_and_si512(_mm512_castps_si512(pairs), _mm512_set1_epi32(int32_t(0xffff0000u))));
}
inline __m512 bf16_even(__m512 pairs) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(pairs), 16));
}
// kernels.h's rounding rule on 16 floats; the result's low 16 bits are zero.
inline __m512 round_bf16(__m512 x) {
  const __m512i bits = _mm512_castps_si512(x);
  const __m512i high = _mm512_set1_epi32(int32_t(0xffff0000u));
  const __m512i magnitude = _mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
  __m512i r = _mm512_and_si512(
      _mm512_add_epi32(bits, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff))), high);
  const __mmask16 nan = _mm512_cmpgt_epi32_mask(magnitude, _mm512_set1_epi32(0x7f800000));
  r = _mm512_mask_mov_epi32(
      r, nan, _mm512_or_si512(_mm512_and_si512(bits, high), _mm512_set1_epi32(0x00400000)));
  const __mmask16 tiny = _mm512_cmplt_epi32_mask(magnitude, _mm512_set1_epi32(0x00800000));
  r = _mm512_mask_mov_epi32(r, tiny, _mm512_and_si512(bits, _mm512_set1_epi32(int32_t(0x80000000u))));
  return _mm512_castsi512_ps(r);
}
#else
// Two shifts rather than an AND with a constant: the 6 x 16 tile needs all 16 ymm registers.
inline __m256 bf16_odd(__m256 pairs) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srli_epi32(_mm256_castps_si256(pairs), 16), 16));
}
inline __m256 bf16_even(__m256 pairs) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(pairs), 16));
}
inline __m256 round_bf16(__m256 x) {
  const __m256i bits = _mm256_castps_si256(x);
  const __m256i high = _mm256_set1_epi32(int32_t(0xffff0000u));
  const __m256i magnitude = _mm256_and_si256(bits, _mm256_set1_epi32(0x7fffffff));
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_and_si256(
      _mm256_add_epi32(bits, _mm256_add_epi32(lsb, _mm256_set1_epi32(0x7fff))), high);
  const __m256i nan = _mm256_cmpgt_epi32(magnitude, _mm256_set1_epi32(0x7f800000));
  r = _mm256_blendv_epi8(
      r, _mm256_or_si256(_mm256_and_si256(bits, high), _mm256_set1_epi32(0x00400000)), nan);
  const __m256i tiny = _mm256_cmpgt_epi32(_mm256_set1_epi32(0x00800000), magnitude);
  r = _mm256_blendv_epi8(r, _mm256_and_si256(bits, _mm256_set1_epi32(int32_t(0x80000000u))), tiny);
  return _mm256_castsi256_ps(r);
}
#endif

namespace bf16 {

constexpr size_t kKBlock = 768;    // k per block (even): a row block's rounded x stays in L1
constexpr size_t kRowChunk = 48;   // rows rounded at a time (a multiple of every tile's rows)

struct TileArgs : TileOutput {
  const float* a;        // rounded x at (row0, k0): floats, even row stride lda
  size_t lda;
  const float* b;        // the tile's first panel at pair k0 / 2 (32-bit units as floats)
  size_t panel_stride;   // 32-bit units between consecutive panels ((k + 1) / 2 * 16)
  size_t pairs;          // k pairs in this block
};

// The loops over tile rows and vectors are unrolled before GCC scalarizes the accumulator array
// (otherwise it keeps acc in memory and stores it every k pair).
template <class V, int MR, int NV>
void tile(const TileArgs& t) {
  typename V::reg acc[MR][NV];
  typename V::mask masks[NV];
  tile_begin<V, MR, NV>(t, acc, masks);
  for (size_t p = 0; p < t.pairs; ++p) {
    typename V::reg w[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) w[j] = bf16_odd(V::load(panel_vector<V>(t, j) + p * 16));
    fma_step<V, MR, NV>(acc, w, t.a + 2 * p + 1, t.lda);
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) w[j] = bf16_even(V::load(panel_vector<V>(t, j) + p * 16));
    fma_step<V, MR, NV>(acc, w, t.a + 2 * p, t.lda);
  }
  tile_end<V, MR, NV>(t, acc, masks);
}

}  // namespace bf16

// Ops::linear_bf16 with MR x NV·W register tiles (NV·W a multiple of 16: whole panels).
template <class V, int MR, int NV>
void linear_bf16_fma(const float* x, size_t ldx, const LinearBf16& w, float* y, size_t ldy,
                     size_t m, size_t n_begin, size_t n_end, Epilogue epilogue) {
  using namespace bf16;
  constexpr size_t W = V::width, kTileCols = NV * W;
  static_assert(kTileCols % 16 == 0 && kRowChunk % MR == 0, "whole panels and row blocks");
  if (n_end <= n_begin || m == 0) return;
  const size_t k = w.k, pairs = (k + 1) / 2;
  thread_local std::vector<float> rounded;
  if (rounded.size() < kRowChunk * kKBlock) rounded.resize(kRowChunk * kKBlock);
  TileArgs t;
  t.panel_stride = pairs * 16;
  t.ldc = ldy;
  t.epilogue = epilogue;
  // k = 0 still runs one (empty) block: y = bias, then the epilogue.
  for (size_t k0 = 0; k0 < k || k0 == 0; k0 += kKBlock) {
    const size_t kc = k - k0 < kKBlock ? k - k0 : kKBlock, lda = (kc + 1) / 2 * 2;
    t.lda = lda;
    t.pairs = lda / 2;
    t.accumulate = k0 > 0;
    t.finish = k0 + kc >= k;
    for (size_t r_chunk = 0; r_chunk < m; r_chunk += kRowChunk) {
      const size_t rows = m - r_chunk < kRowChunk ? m - r_chunk : kRowChunk;
      for (size_t r = 0; r < rows; ++r) {
        const float* src = x + (r_chunk + r) * ldx + k0;
        float* dst = rounded.data() + r * lda;
        for (size_t i = 0; i < lda; i += W)  // the pad of an odd kc is 0
          V::store(dst + i, V::tail_mask(lda - i), round_bf16(V::load(src + i, V::tail_mask(kc > i ? kc - i : 0))));
      }
      for (size_t c0 = n_begin; c0 < n_end; c0 += kTileCols) {
        t.cols = n_end - c0 < kTileCols ? n_end - c0 : kTileCols;
        t.b = reinterpret_cast<const float*>(w.packed) + (c0 / 16) * t.panel_stride + k0 / 2 * 16;
        t.bias = w.bias ? w.bias + c0 : nullptr;
        const size_t vectors = (t.cols + W - 1) / W;
        for (size_t r0 = 0; r0 < rows; r0 += MR) {
          t.a = rounded.data() + r0 * lda;
          t.c = y + (r_chunk + r0) * ldy + c0;
          with_count<MR>(rows - r0, [&](auto mr) {
            with_count<NV>(vectors, [&](auto nv) { bf16::tile<V, mr(), nv()>(t); });
          });
        }
      }
    }
  }
}

}  // namespace
}  // namespace maum::kernels::x86

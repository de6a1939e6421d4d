// AVX512_BF16 linear layer (fp32 models at precision bf16, CPUs with AVX512_BF16: Cooper Lake,
// Sapphire Rapids and later, Zen 4 and later): vdpbf16ps multiplies a broadcast pair of an
// activation row, (x[2p], x[2p+1]), by 16 columns' weight pairs from the shared panel layout
// ([n/16][k/2][16][2], ref::pack_bf16_panels) and adds both products into each fp32 lane: two
// multiply-adds per lane and instruction, twice the fp32 FMA rate. Tile: 6 rows x 64 columns (24
// accumulators, 4 weight vectors), K blocked as the fp32 GEMM (avx512_gemm.cpp).
//
// Each activation row block is rounded once per call with vcvtne2ps2bf16, whose rule (Intel SDM:
// round to nearest even, subnormals to ±0, NaN quieted) is the one kernels.h states for every ISA,
// and is stored as 32-bit pairs. vdpbf16ps (Intel SDM) computes per lane acc += x[2p+1]·w[2p+1],
// then acc += x[2p]·w[2p], each an FMA rounded to nearest even, with subnormal inputs read as 0
// (there are none: the rounding already flushed them) and subnormal results flushed to 0, MXCSR
// ignored. A product of two bf16 values is exact in fp32, so this is the reference's order and
// rounding: the results equal ref::linear_bf16's before the epilogue except where a product or a
// partial sum falls below 2^-126 in magnitude (the FTZ: an absolute 2^-126 per step).
#include <immintrin.h>

#include <cstdint>
#include <vector>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/vec_avx512.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {
namespace {

using V = x86::Vec<float, x86::Avx512>;

constexpr size_t kRowsPerTile = 6;
constexpr size_t kPanelsPerTile = 4;
constexpr size_t kKBlock = 768;   // k per block (even)
constexpr size_t kRowChunk = 48;  // rows rounded at a time

struct TileArgs {
  const uint32_t* a;     // x's bf16 pairs at (row0, pair k0 / 2), row stride lda pairs
  size_t lda;
  const uint32_t* b;     // the tile's first panel at pair k0 / 2
  size_t panel_stride;   // 32-bit units between consecutive panels
  size_t pairs;          // pairs in this K block
  float* c;              // y at (row0, col0)
  size_t ldc;
  bool accumulate, finish;
  const float* bias;     // at col0, or null
  Epilogue epilogue;
  __mmask16 last_mask;   // valid columns of the tile's last panel
};

inline __m512bh as_bh(__m512i x) { return (__m512bh)x; }

template <int MR, int NP>
void tile(const TileArgs& t) {
  __m512 acc[MR][NP];
  auto mask = [&](int j) { return j == NP - 1 ? t.last_mask : static_cast<__mmask16>(0xffff); };
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NP; ++j)
      acc[i][j] = t.accumulate ? _mm512_maskz_loadu_ps(mask(j), t.c + i * t.ldc + j * 16)
                               : _mm512_setzero_ps();
  for (size_t p = 0; p < t.pairs; ++p) {
    __m512bh w[NP];
    for (int j = 0; j < NP; ++j) w[j] = as_bh(_mm512_loadu_si512(t.b + j * t.panel_stride + p * 16));
    for (int i = 0; i < MR; ++i) {
      const __m512bh xv = as_bh(_mm512_set1_epi32(static_cast<int>(t.a[i * t.lda + p])));
      for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv, w[j]);
    }
  }
  if (t.finish) {
    for (int j = 0; j < NP; ++j) {
      const __m512 bias = t.bias ? _mm512_maskz_loadu_ps(mask(j), t.bias + j * 16) : _mm512_setzero_ps();
      for (int i = 0; i < MR; ++i)
        acc[i][j] = x86::epilogue<V>(_mm512_add_ps(acc[i][j], bias), t.epilogue);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NP; ++j) _mm512_mask_storeu_ps(t.c + i * t.ldc + j * 16, mask(j), acc[i][j]);
}

// x[0, count) rounded into `units` bf16 pairs (zeros past count).
void round_pairs(const float* x, size_t count, uint32_t* out, size_t units) {
  for (size_t i = 0; i < units; i += 16) {  // i: pairs, 2i: floats
    const size_t at = 2 * i;
    const __m512 lo = _mm512_maskz_loadu_ps(V::tail_mask(count > at ? count - at : 0), x + at);
    const __m512 hi =
        _mm512_maskz_loadu_ps(V::tail_mask(count > at + 16 ? count - at - 16 : 0), x + at + 16);
    _mm512_mask_storeu_epi32(out + i, V::tail_mask(units - i),
                             (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
  }
}

void linear_bf16(const float* x, size_t ldx, const LinearBf16& w, float* y, size_t ldy, size_t m,
                 size_t n_begin, size_t n_end, Epilogue epilogue) {
  if (n_end <= n_begin || m == 0) return;
  const size_t k = w.k, pairs = (k + 1) / 2;
  thread_local std::vector<uint32_t> rounded;
  if (rounded.size() < kRowChunk * kKBlock / 2) rounded.resize(kRowChunk * kKBlock / 2);
  const auto* packed = reinterpret_cast<const uint32_t*>(w.packed);
  TileArgs t;
  t.panel_stride = pairs * 16;
  t.ldc = ldy;
  t.epilogue = epilogue;
  for (size_t k0 = 0; k0 < k || k0 == 0; k0 += kKBlock) {  // k = 0: one empty block (y = bias)
    const size_t kc = k - k0 < kKBlock ? k - k0 : kKBlock;
    t.pairs = t.lda = (kc + 1) / 2;
    t.accumulate = k0 > 0;
    t.finish = k0 + kc >= k;
    for (size_t r_chunk = 0; r_chunk < m; r_chunk += kRowChunk) {
      const size_t rows = m - r_chunk < kRowChunk ? m - r_chunk : kRowChunk;
      for (size_t r = 0; r < rows; ++r)
        round_pairs(x + (r_chunk + r) * ldx + k0, kc, rounded.data() + r * t.lda, t.lda);
      for (size_t c0 = n_begin; c0 < n_end; c0 += kPanelsPerTile * 16) {
        const size_t cols = n_end - c0 < kPanelsPerTile * 16 ? n_end - c0 : kPanelsPerTile * 16;
        const size_t panels = (cols + 15) / 16;
        t.b = packed + (c0 / 16) * t.panel_stride + k0 / 2 * 16;
        t.bias = w.bias ? w.bias + c0 : nullptr;
        t.last_mask = V::tail_mask(cols - (panels - 1) * 16);
        for (size_t r0 = 0; r0 < rows; r0 += kRowsPerTile) {
          t.a = rounded.data() + r0 * t.lda;
          t.c = y + (r_chunk + r0) * ldy + c0;
          x86::with_count<int(kRowsPerTile)>(rows - r0, [&](auto mr) {
            x86::with_count<int(kPanelsPerTile)>(panels, [&](auto np) { tile<mr(), np()>(t); });
          });
        }
      }
    }
  }
}

}  // namespace

void fill_bf16_gemm(Ops& ops) {
  ops.linear_bf16 = linear_bf16;
  ops.bf16_name = "avx512bf16: vdpbf16ps";
}

}  // namespace maum::kernels

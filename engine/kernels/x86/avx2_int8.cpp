// AVX2 int8 linear layer for CPUs without VNNI. MLAS-style vpmaddubsw on the u8 activations
// (q = a + 128, up to 255) and the s8 weights can clip a pair sum (255·127·2 = 64770 > 32767):
// the wrong-results bug of int8 inference on such CPUs. This kernel multiplies the signed
// activations a = q - 128 (in [-127, 127]: quantize_rows_u8 never produces q = 0) instead, as
// |w| · (a · sign(w)): vpabsb gives |w| <= 128 as an unsigned byte, vpsignb gives a·sign(w) in
// [-127, 127], and a pair of such products sums to at most 2·128·127 = 32512 < 2^15, so
// vpmaddubsw never saturates and every int32 sum equals the reference's sum_k q·w - 128·row_sum
// exactly (a·w = |w|·(a·sign(w)) for every s8 w, -128 included). Per 32 multiply-adds that is
// vpsignb + vpmaddubsw + vpmaddwd(1) + vpaddd. Widening both operands to int16 for vpmaddwd,
// which this file did before, gets 16 multiply-adds per vpmaddwd; this scheme 32 per vpmaddubsw +
// vpmaddwd pair (Zen 3 issues two of vpmaddubsw, vpmaddwd and vpsignb per cycle, all three
// together, measured in isolation): ~1.7x in a loop from L1, ~1.2x on the GEMMs of a whole
// forward pass (docs/PERF.md).
// Layers whose weights all lie in [-64, 64] (`convert --reduce-range`, QuantizedWeights::narrow)
// skip the sign step: q x w directly (panel_tile's Narrow), two of those multiply-unit
// instructions per 32 multiply-adds instead of three.
// Reads the packed layout the VNNI kernel reads ([n/16][k/4][16][4]): one 32-byte load is 8
// columns x 4 k, and vpmaddubsw + vpmaddwd(1) leave one int32 per column. Tile: 4 rows x 16
// columns, the whole panel (8 accumulators; 5 rows spill). 6 rows x 8 columns, which this file
// did before, took 4-13% longer over one-thread forward passes of short sentences on Zen 3, though
// not in a k loop from L1 (docs/PERF.md). Rows are converted to a (and zero-padded to a multiple
// of 4 k) a block at a time. Whole tiles run their k loop in inline asm (full_tile_k_loop): the
// same instructions as the intrinsics, without the register moves and spills GCC adds to them.
// The last rows of a block (1-3) take the intrinsic loop.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/vec_avx2.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {
namespace {

using V = x86::Vec<float, x86::Avx2>;

constexpr int kTileRows = 4;
// Rows of signed activations converted per block: about 128 KiB of them (an L2-resident block
// that every 16-column panel of the call reuses), at least one tile.
constexpr size_t kBlockBytes = 128 * 1024;

// a = q - 128 as s8 (q ^ 0x80; with Narrow, q itself), rows [0, m) of q to rows of k4 bytes,
// zeros past k.
template <bool Narrow>
void to_signed(const uint8_t* q, size_t ldq, size_t m, size_t k, size_t k4, int8_t* a) {
  const __m256i flip = _mm256_set1_epi8(Narrow ? 0 : static_cast<char>(0x80));
  const uint8_t flip_byte = Narrow ? 0 : 0x80;
  for (size_t r = 0; r < m; ++r) {
    const uint8_t* src = q + r * ldq;
    int8_t* dst = a + r * k4;
    size_t i = 0;
    for (; i + 32 <= k; i += 32) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + i));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i), _mm256_xor_si256(v, flip));
    }
    for (; i < k; ++i) dst[i] = static_cast<int8_t>(src[i] ^ flip_byte);
    for (; i < k4; ++i) dst[i] = 0;
  }
}

// Scale, bias, epilogue and store of one 8-column half of a tile, columns [c0, c0 + n) of the
// call's panel: acc[i] holds row i's int32 sums. A whole half reads its per-column constants
// straight from the call's arrays; only a panel's last, partial half pads them with zeros.
template <int MR, bool Narrow>
inline void store_half(const __m256i* acc, size_t c0, size_t n, const float* x_scale,
                       const float* w_scale, const int32_t* row_sum, const float* bias, float* y,
                       size_t ldy, Epilogue epilogue) {
  __m256 ws, bs = _mm256_setzero_ps();
  __m256i sums = _mm256_setzero_si256();  // row_sum, read for Narrow only
  if (n == 8) {  // whole half: straight from the call's arrays
    ws = _mm256_loadu_ps(w_scale + c0);
    if (bias) bs = _mm256_loadu_ps(bias + c0);
    if (Narrow) sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row_sum + c0));
  } else {  // zero beyond n: scale, bias and row_sum are not padded
    float wv[8] = {0}, bv[8] = {0};
    int32_t sv[8] = {0};
    for (size_t c = 0; c < n; ++c) {
      wv[c] = w_scale[c0 + c];
      bv[c] = bias ? bias[c0 + c] : 0.0f;
      if (Narrow) sv[c] = row_sum[c0 + c];
    }
    ws = _mm256_loadu_ps(wv);
    bs = _mm256_loadu_ps(bv);
    sums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(sv));
  }
  // Narrow: 128·row_sum, what q = a + 128 added to each sum.
  const __m256i offset = _mm256_slli_epi32(sums, 7);
  for (int i = 0; i < MR; ++i) {
    const __m256 real = _mm256_cvtepi32_ps(Narrow ? _mm256_sub_epi32(acc[i], offset) : acc[i]);
    __m256 out = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(x_scale[i]), ws), real);
    if (bias) out = _mm256_add_ps(out, bs);
    out = x86::epilogue<V>(out, epilogue);
    V::store(y + i * ldy + c0, V::tail_mask(n), out);
  }
}

// One k step of one row in full_tile_k_loop's asm (%%ymm12/13: the step's weights, their
// magnitudes in %%ymm10/11 for the sign step; %%ymm14/15 temporaries): ROW is the address of the
// row's 4 activations, LO and HI its accumulators. Per row 2 vpmaddubsw + 2 vpmaddwd (+ 2 vpsignb
// in full range) + 2 vpaddd, nothing else.
#define MAUM_NARROW_ROW(ROW, LO, HI)                                                       \
  "vpbroadcastd " ROW ", %%ymm14\n\t"                                                     \
  "vpmaddubsw %%ymm12, %%ymm14, %%ymm15\n\t" /* q x w, columns 0-7 */                     \
  "vpmaddubsw %%ymm13, %%ymm14, %%ymm14\n\t" /* columns 8-15 */                           \
  "vpmaddwd %[ones], %%ymm15, %%ymm15\n\t"                                                 \
  "vpmaddwd %[ones], %%ymm14, %%ymm14\n\t"                                                 \
  "vpaddd %%ymm15, %[" LO "], %[" LO "]\n\t"                                               \
  "vpaddd %%ymm14, %[" HI "], %[" HI "]\n\t"
#define MAUM_SIGNED_ROW(ROW, LO, HI)                                                       \
  "vpbroadcastd " ROW ", %%ymm14\n\t"                                                     \
  "vpsignb %%ymm12, %%ymm14, %%ymm15\n\t" /* a·sign(w), columns 0-7 */                    \
  "vpsignb %%ymm13, %%ymm14, %%ymm14\n\t"                                                  \
  "vpmaddubsw %%ymm15, %%ymm10, %%ymm15\n\t" /* |w| x a·sign(w) */                         \
  "vpmaddubsw %%ymm14, %%ymm11, %%ymm14\n\t"                                               \
  "vpmaddwd %[ones], %%ymm15, %%ymm15\n\t"                                                 \
  "vpmaddwd %[ones], %%ymm14, %%ymm14\n\t"                                                 \
  "vpaddd %%ymm15, %[" LO "], %[" LO "]\n\t"                                               \
  "vpaddd %%ymm14, %[" HI "], %[" HI "]\n\t"

// The k loop of a whole 4 x 16 tile (k_loop_intrinsics below, for MR = 4: the same sums), in
// asm because GCC (14) compiles that loop with a register move per accumulator and a spill per
// step: 8-10 extra instructions in a ~32-instruction loop whose multiply-unit instructions are
// the bound (docs/PERF.md). k4 > 0.
template <bool Narrow>
inline void full_tile_k_loop(const int8_t* a, size_t k4, const int8_t* panel, __m256i ones,
                             __m256i* lo, __m256i* hi) {
  static_assert(kTileRows == 4, "the asm below is written for 4 rows");
  const int8_t* row0 = a;
  const int8_t* row3 = a + 3 * k4;
  const int8_t* const end = a + k4;
  const int8_t* bp = panel;
  __m256i lo0 = lo[0], lo1 = lo[1], lo2 = lo[2], lo3 = lo[3];
  __m256i hi0 = hi[0], hi1 = hi[1], hi2 = hi[2], hi3 = hi[3];
// Both paths: load the step's 64 weight bytes, STEP (the sign path's magnitudes), ROW per row.
#define MAUM_TILE_K_LOOP(STEP, ROW)                                                             \
  asm volatile(                                                                                 \
      "1:\n\t"                                                                                  \
      "vmovdqu (%[bp]), %%ymm12\n\t"                                                            \
      "vmovdqu 32(%[bp]), %%ymm13\n\t" STEP                                                     \
      ROW("(%[row0])", "lo0", "hi0")                                                            \
      ROW("(%[row0],%[stride],1)", "lo1", "hi1")                                                \
      ROW("(%[row0],%[stride],2)", "lo2", "hi2")                                                \
      ROW("(%[row3])", "lo3", "hi3")                                                            \
      "add $64, %[bp]\n\t"                                                                      \
      "add $4, %[row0]\n\t"                                                                     \
      "add $4, %[row3]\n\t"                                                                     \
      "cmp %[end], %[row0]\n\t"                                                                 \
      "jb 1b\n\t"                                                                               \
      : [lo0] "+x"(lo0), [lo1] "+x"(lo1), [lo2] "+x"(lo2), [lo3] "+x"(lo3), [hi0] "+x"(hi0),    \
        [hi1] "+x"(hi1), [hi2] "+x"(hi2), [hi3] "+x"(hi3), [bp] "+r"(bp), [row0] "+r"(row0),    \
        [row3] "+r"(row3)                                                                       \
      : [ones] "x"(ones), [stride] "r"(k4), [end] "r"(end)                                      \
      : "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc", "memory")
  if constexpr (Narrow) {
    MAUM_TILE_K_LOOP("", MAUM_NARROW_ROW);
  } else {
    MAUM_TILE_K_LOOP("vpabsb %%ymm12, %%ymm10\n\tvpabsb %%ymm13, %%ymm11\n\t", MAUM_SIGNED_ROW);
  }
#undef MAUM_TILE_K_LOOP
  lo[0] = lo0, lo[1] = lo1, lo[2] = lo2, lo[3] = lo3;
  hi[0] = hi0, hi[1] = hi1, hi[2] = hi2, hi[3] = hi3;
}
#undef MAUM_NARROW_ROW
#undef MAUM_SIGNED_ROW

// The k loop of tiles shorter than kTileRows (a block's last rows), from intrinsics.
template <int MR, bool Narrow>
inline void k_loop_intrinsics(const int8_t* a, size_t k4, const int8_t* panel, __m256i ones,
                              __m256i* lo, __m256i* hi) {
  const int8_t* bp = panel;
  for (size_t kg = 0; kg < k4; kg += 4, bp += 64) {
    const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp));
    const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + 32));
    const __m256i u0 = Narrow ? w0 : _mm256_abs_epi8(w0);
    const __m256i u1 = Narrow ? w1 : _mm256_abs_epi8(w1);
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      int32_t g;
      std::memcpy(&g, a + i * k4 + kg, 4);
      const __m256i x = _mm256_set1_epi32(g);
      const __m256i p0 = Narrow ? _mm256_maddubs_epi16(x, w0)
                                : _mm256_maddubs_epi16(u0, _mm256_sign_epi8(x, w0));
      const __m256i p1 = Narrow ? _mm256_maddubs_epi16(x, w1)
                                : _mm256_maddubs_epi16(u1, _mm256_sign_epi8(x, w1));
      lo[i] = _mm256_add_epi32(lo[i], _mm256_madd_epi16(p0, ones));
      hi[i] = _mm256_add_epi32(hi[i], _mm256_madd_epi16(p1, ones));
    }
  }
}

// Rows [0, MR) of a, by the 16 columns of one panel, both 8-column halves (one 32-byte load each
// per 4 k) in one pass over k: each row's broadcast activations serve 16 columns, and the
// 2·MR accumulators, the weights (and their magnitudes) and one row's temporaries stay in the 16
// ymm registers.
//
// Narrow: every weight of the layer is in [-64, 64] (QuantizedWeights::narrow), so the u8
// activations q themselves can be vpmaddubsw's unsigned operand, 255·64·2 = 32640 < 2^15, without
// the sign step; a holds q (not q - 128) and the sums are sum_k q·w, from which the epilogue
// takes 128·row_sum as the reference does.
template <int MR, bool Narrow>
void panel_tile(const int8_t* a, size_t k4, const int8_t* panel, const float* x_scale,
                const float* w_scale, const int32_t* row_sum, const float* bias, float* y,
                size_t ldy, size_t cols, Epilogue epilogue) {
  const __m256i ones = _mm256_set1_epi16(1);
  __m256i lo[MR], hi[MR];  // columns 0-7 and 8-15 (zero weights past `cols`: panels are padded)
  for (int i = 0; i < MR; ++i) lo[i] = hi[i] = _mm256_setzero_si256();
  if constexpr (MR == kTileRows) {
    if (k4 > 0) full_tile_k_loop<Narrow>(a, k4, panel, ones, lo, hi);
  } else {
    k_loop_intrinsics<MR, Narrow>(a, k4, panel, ones, lo, hi);
  }
  store_half<MR, Narrow>(lo, 0, std::min<size_t>(cols, 8), x_scale, w_scale, row_sum, bias, y,
                         ldy, epilogue);
  if (cols > 8) {
    store_half<MR, Narrow>(hi, 8, cols - 8, x_scale, w_scale, row_sum, bias, y, ldy, epilogue);
  }
}

// panel_tile by height: whole tiles, then the last rows of a block with a tile of their own.
template <bool Narrow>
constexpr decltype(&panel_tile<kTileRows, Narrow>) kTiles[kTileRows + 1] = {
    nullptr, panel_tile<1, Narrow>, panel_tile<2, Narrow>, panel_tile<3, Narrow>,
    panel_tile<kTileRows, Narrow>};

template <bool Narrow>
void linear_u8s8_as(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
                    const float* bias, float* y, size_t ldy, size_t m, size_t n_begin,
                    size_t n_end, Epilogue epilogue) {
  const size_t k4 = (w.k + 3) / 4 * 4;
  const size_t block_rows = std::max<size_t>(
      kTileRows, kBlockBytes / std::max<size_t>(k4, 1) / kTileRows * kTileRows);
  thread_local std::vector<int8_t> signed_rows;
  for (size_t r0 = 0; r0 < m; r0 += block_rows) {
    const size_t rows = std::min(block_rows, m - r0);
    if (signed_rows.size() < rows * k4) signed_rows.resize(rows * k4);
    int8_t* a = signed_rows.data();
    to_signed<Narrow>(q + r0 * ldq, ldq, rows, w.k, k4, a);
    for (size_t c0 = n_begin; c0 < n_end; c0 += 16) {
      const size_t cols = std::min<size_t>(n_end - c0, 16);
      const int8_t* panel = w.packed + (c0 / 16) * k4 * 16;
      const float* b = bias ? bias + c0 : nullptr;
      float* yc = y + r0 * ldy + c0;
      const float* xs = x_scale + r0;
      for (size_t r = 0; r < rows; r += kTileRows) {
        const size_t height = std::min<size_t>(rows - r, kTileRows);
        kTiles<Narrow>[height](a + r * k4, k4, panel, xs + r, w.scale + c0, w.row_sum + c0, b,
                               yc + r * ldy, ldy, cols, epilogue);
      }
    }
  }
}

void linear_u8s8(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
                 const float* bias, float* y, size_t ldy, size_t m, size_t n_begin, size_t n_end,
                 Epilogue epilogue) {
  (w.narrow ? linear_u8s8_as<true> : linear_u8s8_as<false>)(q, ldq, x_scale, w, bias, y, ldy, m,
                                                            n_begin, n_end, epilogue);
}

}  // namespace

void fill_avx2_int8(Ops& ops) {
  set_linear_u8s8<linear_u8s8>(ops, ref::packed_u8s8_panels_size, pack_u8s8_panels_avx2);
  ops.s8_row_stats = s8_row_stats_avx2;
}

}  // namespace maum::kernels

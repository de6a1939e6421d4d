// AMX-BF16 linear layer (fp32 models at precision bf16): tdpbf16ps on tiles. One tdpbf16ps
// multiplies a 16-row x 32-bf16 tile of activations (A: 16 rows, 16 k pairs each) by a 16-row x
// 64-byte tile of weights (B: 16 k pairs, each 16 columns x 2 bf16) into 16 x 16 fp32 sums (C):
//   C[m][n] += Σ_{p<16} A[m][2p]·B[p][2n] + A[m][2p+1]·B[p][2n+1]
// (Intel SDM: each multiply-add an fp32 FMA rounded to nearest even, input denormals read as 0,
// denormal results flushed to 0, MXCSR ignored; the SDM's pseudocode sums the even and the odd
// products of a row in two chains and adds them to C at the end of the instruction). A product
// of two bf16 values is exact in fp32, so the result differs from ref::linear_bf16 (one chain per
// output, per pair odd then even) only in the order of the fp32 additions, and by the flush of
// partial sums below 2^-126: the fp32 summation-order budget of the other bf16 kernels
// (tests/engine/kernels/bf16_kernels_test.cpp), not bit identity.
//
// B tiles are read straight from the packed weights: the bf16 panel layout [n/16][k/2][16][2] is
// a sequence of B tiles (64 bytes = 16 columns x one pair per tile row), here with k zero-padded
// to a multiple of 32 (ref::pack_bf16_tiles) so every tile is whole. A: each chunk of rows is
// rounded once per call by kernels.h's rule (x86/vec_bf16.h's round_bf16, AVX-512F integer
// operations; input subnormals already become ±0, so the instruction's DAZ changes nothing) into
// a per-thread buffer of k_pad bf16 per row, zero past k. The 32 x 32 blocks, tile numbers and
// configuration are x86/amx_tiles.h's, as for the int8 kernel; the bias and GELU epilogue is the
// one every x86 kernel uses (x86/vec_kernels.h).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/amx_tiles.h"
#include "engine/kernels/x86/vec_avx512.h"
#include "engine/kernels/x86/vec_bf16.h"
#include "engine/kernels/x86/vec_kernels.h"

// AMX-TILE: amx_tiles.h checks it.
#if !defined(__AMX_BF16__) && !defined(__AMXBF16__)  // GCC, clang spellings
#error "amx_bf16.cpp is compiled with -mamx-tile -mamx-bf16 (engine/kernels/CMakeLists.txt)"
#endif

namespace maum::kernels {
namespace {

using V = x86::Vec<float, x86::Avx512>;
using x86::kTileRows;
constexpr size_t kTileK = x86::kTileRowBytes / 2;  // k per tdpbf16ps: 32 bf16 per A tile row
// Rows rounded at a time (4 row blocks; the buffer is 128 x k_pad bf16: 192 KiB at k = 768).
// Not tuned: no AMX machine was at hand.
constexpr size_t kRowChunk = 4 * x86::kBlockRows;

// C += A·B on tile numbers: bf16 pairs, fp32 C.
struct Tdpbf16ps {
  template <int C, int A, int B>
  static void dot() {
    __asm__ volatile("{tdpbf16ps %%tmm%c2, %%tmm%c1, %%tmm%c0|tdpbf16ps tmm%c0, tmm%c1, tmm%c2}"
                     :
                     : "i"(C), "i"(A), "i"(B));
  }
};

// rows of x rounded to bf16 (kernels.h's rule), k_pad per row, zero past k.
void round_rows(const float* x, size_t ldx, size_t rows, size_t k, size_t k_pad, uint16_t* out) {
  for (size_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < k_pad; i += 16) {
      const __m512 v = _mm512_maskz_loadu_ps(V::tail_mask(k > i ? k - i : 0), x + r * ldx + i);
      const __m512i high = _mm512_srli_epi32(_mm512_castps_si512(x86::round_bf16(v)), 16);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + r * k_pad + i),
                          _mm512_cvtepi32_epi16(high));
    }
}

void linear_bf16(const float* x, size_t ldx, const LinearBf16& w, float* y, size_t ldy, size_t m,
                 size_t n_begin, size_t n_end, Epilogue epilogue) {
  if (n_end <= n_begin || m == 0) return;
  const size_t k = w.k, k_pad = (k + kTileK - 1) / kTileK * kTileK;
  thread_local std::vector<uint16_t> rounded;
  if (rounded.size() < kRowChunk * k_pad) rounded.resize(kRowChunk * k_pad);
  x86::TileBlock blk;
  blk.lda = k_pad * sizeof(uint16_t);
  blk.a_tail = nullptr;  // every k step is read from the rounded rows
  blk.panel_stride = k_pad * kPackPanel * sizeof(uint16_t);
  blk.k_blocks = k_pad / kTileK;
  alignas(64) float acc[4][kTileRows * kPackPanel];
  const auto* packed = reinterpret_cast<const uint8_t*>(w.packed);
  for (size_t r_chunk = 0; r_chunk < m; r_chunk += kRowChunk) {
    const size_t rows = m - r_chunk < kRowChunk ? m - r_chunk : kRowChunk;
    round_rows(x + r_chunk * ldx, ldx, rows, k, k_pad, rounded.data());
    const auto* a = reinterpret_cast<const uint8_t*>(rounded.data());
    x86::for_each_block(rows, n_begin, n_end, [&](const x86::BlockAt& at) {
      blk.b = packed + (at.c0 / kPackPanel) * blk.panel_stride;
      blk.a = a + at.r0 * blk.lda;
      x86::block_sums<Tdpbf16ps, true>(blk, at.rows[1] > 0, at.panels == 2, acc);
      for (int j = 0; j < at.panels; ++j) {
        const size_t col = at.c0 + j * kPackPanel;
        const __mmask16 mask = V::tail_mask(n_end - col);
        const __m512 bias = w.bias ? _mm512_maskz_loadu_ps(mask, w.bias + col) : _mm512_setzero_ps();
        for (size_t i = 0; i < 2; ++i)
          for (size_t r = 0; r < at.rows[i]; ++r) {
            const size_t row = r_chunk + at.r0 + i * kTileRows + r;
            const __m512 sums = _mm512_load_ps(acc[2 * i + j] + r * kPackPanel);
            _mm512_mask_storeu_ps(y + row * ldy + col, mask,
                                  x86::epilogue<V>(_mm512_add_ps(sums, bias), epilogue));
          }
      }
    });
  }
  _tile_release();
}

}  // namespace

void fill_amx_bf16(Ops& ops) {
  ops.linear_bf16 = linear_bf16;
  ops.packed_bf16_size = ref::packed_bf16_tiles_size;
  ops.pack_bf16 = pack_bf16_tiles_avx2;
  ops.bf16_name = "amx: tdpbf16ps on AMX-BF16 tiles";
}

}  // namespace maum::kernels

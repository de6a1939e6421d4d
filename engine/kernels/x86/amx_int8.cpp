// AMX int8 linear layer: tdpbusd on tiles. One tdpbusd multiplies a 16-row x 64-byte tile of u8
// activations (A: 16 rows of q, 64 k each) by a 16-row x 64-byte tile of s8 weights (B: 16 groups
// of 4 k, each 16 columns x 4 bytes) into 16 x 16 int32 sums (C):
//   C[m][n] += Σ_{g<16} Σ_{i<4} zero_extend(A[m][4g+i]) · sign_extend(B[g][4n+i])
// with no saturation: the same exact int32 sums as vpdpbusd, so with the same epilogue
// (x86/u8s8_avx512.h) the outputs are bit-identical to the avx512vnni table's.
//
// B tiles are read straight from the packed weights: the u8s8 panel layout [n/16][k/4][16][4] is
// already a sequence of B tiles (64 bytes = 16 columns x 4 k per tile row), here with k
// zero-padded to a multiple of 64 (ref::pack_u8s8_tiles) so every tile is whole. A tiles are read
// straight from q with its row stride for every whole 64 k; the last k % 64 bytes of the rows are
// copied into a zero-padded buffer first (a tile row is 64 bytes: reading it from q would read
// past the row's end, and past q's last row). Rows: 32 at a time (two A tiles, tmm4-5) against
// 32 columns (two B tiles, tmm6-7) into four C tiles (tmm0-3); the 1-31 rows left over run in one
// more block under a tile configuration with that many rows (LDTILECFG zeroes every tile, so the
// configuration changes only between blocks: once per call for the whole blocks, once for the
// rest). Each call configures the tiles itself (tile state is per thread, and kernels are called
// from any pool thread) and releases them at the end (TILERELEASE returns them to their initial
// state, so the OS need not save 8 KiB per thread at context switches).
//
// The tile configuration, the tile numbers and the block loop are x86/amx_tiles.h's (shared with
// the AMX-BF16 kernel).
#include <immintrin.h>

#include <cstddef>
#include <cstring>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/amx_tiles.h"
#include "engine/kernels/x86/u8s8_avx512.h"
#include "engine/kernels/x86/vec_avx512.h"

// AMX-TILE: amx_tiles.h checks it.
#if !defined(__AMX_INT8__) && !defined(__AMXINT8__)  // GCC, clang spellings
#error "amx_int8.cpp is compiled with -mamx-tile -mamx-int8 (engine/kernels/CMakeLists.txt)"
#endif

namespace maum::kernels {
namespace {

using V = x86::Vec<float, x86::Avx512>;
using x86::kBlockRows;
using x86::kTileRows;
constexpr size_t kTileK = x86::kTileRowBytes;  // k per tdpbusd: 64 u8 per A tile row

// C += A·B on tile numbers: u8 A, s8 B, int32 C, no saturation.
struct Tdpbusd {
  template <int C, int A, int B>
  static void dot() {
    __asm__ volatile("{tdpbusd %%tmm%c2, %%tmm%c1, %%tmm%c0|tdpbusd tmm%c0, tmm%c1, tmm%c2}"
                     :
                     : "i"(C), "i"(A), "i"(B));
  }
};

void linear_u8s8(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
                 const float* bias, float* y, size_t ldy, size_t m, size_t n_begin, size_t n_end,
                 Epilogue epilogue) {
  if (n_end <= n_begin || m == 0) return;
  const size_t k_pad = (w.k + kTileK - 1) / kTileK * kTileK;
  const size_t k_tail = w.k % kTileK;
  x86::TileBlock blk;
  blk.lda = ldq;
  blk.panel_stride = k_pad * kPackPanel;  // bytes
  blk.k_blocks = w.k / kTileK;
  alignas(64) uint8_t a_tail[kBlockRows * kTileK];
  alignas(64) int32_t acc[4][kTileRows * kPackPanel];
  if (k_tail) std::memset(a_tail, 0, sizeof(a_tail));  // the padding stays zero
  blk.a_tail = k_tail ? a_tail : nullptr;

  const auto* packed = reinterpret_cast<const uint8_t*>(w.packed);
  x86::for_each_block(m, n_begin, n_end, [&](const x86::BlockAt& at) {
    blk.b = packed + (at.c0 / kPackPanel) * blk.panel_stride;
    blk.a = q + at.r0 * ldq;
    if (k_tail) {
      for (size_t i = 0; i < 2; ++i)
        for (size_t r = 0; r < at.rows[i]; ++r) {
          std::memcpy(a_tail + (i * kTileRows + r) * kTileK,
                      blk.a + (i * kTileRows + r) * ldq + blk.k_blocks * kTileK, k_tail);
        }
    }
    x86::block_sums<Tdpbusd, false>(blk, at.rows[1] > 0, at.panels == 2, acc);
    for (int j = 0; j < at.panels; ++j) {
      const size_t col = at.c0 + j * kPackPanel;
      const auto columns = x86::U8s8Columns::load(
          V::tail_mask(n_end - col), w.row_sum + col, w.scale + col, bias ? bias + col : nullptr);
      for (size_t i = 0; i < 2; ++i)
        for (size_t r = 0; r < at.rows[i]; ++r) {
          const size_t row = at.r0 + i * kTileRows + r;
          const __m512i sums = _mm512_load_si512(acc[2 * i + j] + r * kPackPanel);
          columns.store(y + row * ldy + col, sums, x_scale[row], epilogue);
        }
    }
  });
  _tile_release();
}

}  // namespace

void fill_amx_int8(Ops& ops) {
  set_linear_u8s8<linear_u8s8>(ops, ref::packed_u8s8_tiles_size, pack_u8s8_tiles_avx2);
}

}  // namespace maum::kernels

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
// Intrinsics: GCC 12's _tile_loadd / _tile_dpbusd / _tile_zero are asm statements on literal
// tile numbers; _tile_loadd declares no memory read and _tile_loadconfig declares only 8 of the
// 64 bytes it reads, so this file states both itself where it matters (load_tile_config,
// load_written_a_tiles).
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/u8s8_avx512.h"
#include "engine/kernels/x86/vec_avx512.h"

#if !defined(__AMX_TILE__) || !defined(__AMX_INT8__)
#error "amx_int8.cpp is compiled with -mamx-tile -mamx-int8 (engine/kernels/CMakeLists.txt)"
#endif

namespace maum::kernels {
namespace {

using V = x86::Vec<float, x86::Avx512>;

constexpr size_t kTileRows = 16;                     // rows of an A or C tile
constexpr size_t kTileK = 64;                        // bytes per A tile row: k per tdpbusd
constexpr size_t kBTileBytes = kTileK * kPackPanel;  // a B tile: 16 rows of 64 bytes
constexpr size_t kBlockRows = 2 * kTileRows;
constexpr size_t kBlockCols = 2 * kPackPanel;

// LDTILECFG's 64-byte operand, palette 1 (8 tiles of at most 16 rows x 64 bytes).
struct alignas(64) TileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t colsb[16] = {};  // bytes per row of tmm0..tmm15
  uint8_t rows[16] = {};
};
static_assert(sizeof(TileConfig) == 64 && offsetof(TileConfig, colsb) == 16 &&
                  offsetof(TileConfig, rows) == 48,
              "LDTILECFG's layout: palette, start row, 14 reserved, colsb[16] at 16, rows[16] at 48");

// Tiles: C tmm0 (row tile 0, panel 0), tmm1 (row tile 0, panel 1), tmm2 / tmm3 (row tile 1);
// A tmm4 (row tile 0), tmm5 (row tile 1); B tmm6 (panel 0), tmm7 (panel 1). rows1 = 0 leaves
// row tile 1's tiles unconfigured (they are not used then). tdpbusd's shape rules hold: C.rows =
// A.rows, C.colsb = B.colsb = 64, A.colsb / 4 = B.rows = 16.
TileConfig tile_config(unsigned rows0, unsigned rows1) {
  TileConfig c;
  auto set = [&c](int tile, unsigned rows) {
    c.rows[tile] = static_cast<uint8_t>(rows);
    c.colsb[tile] = rows ? 64 : 0;
  };
  for (int tile : {0, 1, 4}) set(tile, rows0);
  for (int tile : {2, 3, 5}) set(tile, rows1);
  for (int tile : {6, 7}) set(tile, 16);
  return c;
}

inline void load_tile_config(const TileConfig& c) {
  __asm__ volatile("ldtilecfg %0" : : "m"(c));
}

// A tiles from a buffer this function has just written: with the "memory" clobber, GCC emits
// those stores before the load (the buffer's address is an operand, so the clobber covers it).
template <int MR>
inline void load_written_a_tiles(const uint8_t* rows0) {
  __asm__ volatile("tileloadd (%0,%1,1), %%tmm4" : : "r"(rows0), "r"(64L) : "memory");
  if constexpr (MR == 2) {
    __asm__ volatile("tileloadd (%0,%1,1), %%tmm5"
                     :
                     : "r"(rows0 + kTileRows * kTileK), "r"(64L)
                     : "memory");
  }
}

// One 64-k step with the A tiles loaded: B tiles of the step, then the MR x NP products.
template <int MR, int NP>
inline void multiply_step(const int8_t* b0, const int8_t* b1) {
  _tile_loadd(6, b0, 64);
  if constexpr (NP == 2) _tile_loadd(7, b1, 64);
  _tile_dpbusd(0, 4, 6);
  if constexpr (NP == 2) _tile_dpbusd(1, 4, 7);
  if constexpr (MR == 2) {
    _tile_dpbusd(2, 5, 6);
    if constexpr (NP == 2) _tile_dpbusd(3, 5, 7);
  }
}

struct Block {
  const uint8_t* a;       // q at the block's first row, column 0
  size_t lda;
  const uint8_t* a_tail;  // [32][64]: the rows' last k % 64 bytes, zero-padded; null if k % 64 = 0
  const int8_t* b;        // the block's first packed panel
  size_t panel_stride;    // bytes between packed panels
  size_t k_blocks;        // whole 64-k steps read from a
};

// The int32 sums of an MR x NP tile block into acc[tile] (tile = 2·row tile + panel; 16 x 16
// int32 each, rows 64 bytes apart).
template <int MR, int NP>
void block_sums(const Block& blk, int32_t (*acc)[kTileRows * kPackPanel]) {
  _tile_zero(0);
  if constexpr (NP == 2) _tile_zero(1);
  if constexpr (MR == 2) {
    _tile_zero(2);
    if constexpr (NP == 2) _tile_zero(3);
  }
  const int8_t* b0 = blk.b;
  const int8_t* b1 = blk.b + blk.panel_stride;
  for (size_t kb = 0; kb < blk.k_blocks; ++kb) {
    _tile_loadd(4, blk.a + kb * kTileK, blk.lda);
    if constexpr (MR == 2) _tile_loadd(5, blk.a + kTileRows * blk.lda + kb * kTileK, blk.lda);
    multiply_step<MR, NP>(b0 + kb * kBTileBytes, b1 + kb * kBTileBytes);
  }
  if (blk.a_tail) {
    load_written_a_tiles<MR>(blk.a_tail);
    multiply_step<MR, NP>(b0 + blk.k_blocks * kBTileBytes, b1 + blk.k_blocks * kBTileBytes);
  }
  _tile_stored(0, acc[0], 64);
  if constexpr (NP == 2) _tile_stored(1, acc[1], 64);
  if constexpr (MR == 2) {
    _tile_stored(2, acc[2], 64);
    if constexpr (NP == 2) _tile_stored(3, acc[3], 64);
  }
}

void linear_u8s8(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
                 const float* bias, float* y, size_t ldy, size_t m, size_t n_begin, size_t n_end,
                 Epilogue epilogue) {
  if (w.packed == nullptr) {
    ref::linear_u8s8(q, ldq, x_scale, w, bias, y, ldy, m, n_begin, n_end, epilogue);
    return;
  }
  if (n_end <= n_begin || m == 0) return;
  const size_t k_pad = (w.k + kTileK - 1) / kTileK * kTileK;
  const size_t k_tail = w.k % kTileK;
  Block blk;
  blk.lda = ldq;
  blk.panel_stride = k_pad * kPackPanel;
  blk.k_blocks = w.k / kTileK;
  alignas(64) uint8_t a_tail[kBlockRows * kTileK];
  alignas(64) int32_t acc[4][kTileRows * kPackPanel];
  if (k_tail) std::memset(a_tail, 0, sizeof(a_tail));  // the padding stays zero
  blk.a_tail = k_tail ? a_tail : nullptr;

  // The whole 32-row blocks under one configuration, then the 1-31 rows left under another.
  const size_t m_whole = m / kBlockRows * kBlockRows, rest = m - m_whole;
  struct Phase {
    size_t r_begin, r_end, rows0, rows1;
  };
  const Phase phases[2] = {{0, m_whole, kTileRows, kTileRows},
                           {m_whole, m, std::min(rest, kTileRows), rest - std::min(rest, kTileRows)}};
  for (const Phase& phase : phases) {
    if (phase.r_begin == phase.r_end) continue;
    load_tile_config(tile_config(static_cast<unsigned>(phase.rows0), static_cast<unsigned>(phase.rows1)));
    const size_t rows[2] = {phase.rows0, phase.rows1};
    for (size_t c0 = n_begin; c0 < n_end; c0 += kBlockCols) {
      const int np = n_end - c0 > kPackPanel ? 2 : 1;
      blk.b = w.packed + (c0 / kPackPanel) * blk.panel_stride;
      for (size_t r0 = phase.r_begin; r0 < phase.r_end; r0 += kBlockRows) {
        blk.a = q + r0 * ldq;
        if (k_tail) {
          for (size_t i = 0; i < 2; ++i)
            for (size_t r = 0; r < rows[i]; ++r) {
              std::memcpy(a_tail + (i * kTileRows + r) * kTileK,
                          blk.a + (i * kTileRows + r) * ldq + blk.k_blocks * kTileK, k_tail);
            }
        }
        if (phase.rows1 > 0) {
          if (np == 2) block_sums<2, 2>(blk, acc); else block_sums<2, 1>(blk, acc);
        } else {
          if (np == 2) block_sums<1, 2>(blk, acc); else block_sums<1, 1>(blk, acc);
        }
        for (int j = 0; j < np; ++j) {
          const size_t col = c0 + j * kPackPanel;
          const auto columns = x86::U8s8Columns::load(
              V::tail_mask(n_end - col), w.row_sum + col, w.scale + col, bias ? bias + col : nullptr);
          for (size_t i = 0; i < 2; ++i)
            for (size_t r = 0; r < rows[i]; ++r) {
              const size_t row = r0 + i * kTileRows + r;
              const __m512i sums = _mm512_load_si512(acc[2 * i + j] + r * kPackPanel);
              columns.store(y + row * ldy + col, sums, x_scale[row], epilogue);
            }
        }
      }
    }
  }
  _tile_release();
}

}  // namespace

void fill_amx_int8(Ops& ops) {
  ops.linear_u8s8 = linear_u8s8;
  ops.gemm_u8s8 = gemm_u8s8_using<linear_u8s8>;
  ops.packed_u8s8_size = ref::packed_u8s8_tiles_size;
  ops.pack_u8s8 = ref::pack_u8s8_tiles;
}

}  // namespace maum::kernels

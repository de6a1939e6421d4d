// Internal to the AMX kernel files (x86/amx_int8.cpp, x86/amx_bf16.cpp; compiled with
// -mamx-tile): the tile configuration and the 32-row x 32-column block of tile products both run.
//
// Every tile row is 64 bytes. An A row holds 64 k of u8 (tdpbusd) or 32 k of bf16 (tdpbf16ps); a
// B tile row is one k group of 16 columns (4 k of s8, or one k pair of bf16: 64 bytes), so a B
// tile is 16 consecutive 64-byte rows of a packed panel ([n/16][k/4][16][4] u8s8,
// [n/16][k/2][16][2] bf16) with k zero-padded to whole tiles; a C row is 16 int32 or fp32 sums.
// Both instructions thus have the same tile shapes (C.rows = A.rows, C.colsb = B.colsb = 64,
// A.colsb / 4 = B.rows = 16) and one configuration serves both.
//
// Tiles: C tmm0 (row tile 0, panel 0), tmm1 (row tile 0, panel 1), tmm2 / tmm3 (row tile 1);
// A tmm4 (row tile 0), tmm5 (row tile 1); B tmm6 (panel 0), tmm7 (panel 1).
//
// Intrinsics: GCC 12's _tile_loadd / _tile_dpbusd / _tile_zero are asm statements on literal
// tile numbers; _tile_loadd declares no memory read and _tile_loadconfig declares only 8 of the
// 64 bytes it reads, so this file states both itself where it matters (load_tile_config,
// load_written_a_tiles). The multiply instruction is a Dot type of the kernel file:
// Dot::dot<C, A, B>() runs C += A·B on those tile numbers. AWritten: the A rows are a buffer the
// caller has just written (bf16: the rounded activations), loaded with the "memory" clobber.
#pragma once
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "engine/kernels/table.h"

// GCC spells the feature macros __AMX_TILE__, clang __AMXTILE__ (the fuzz build uses clang).
#if !defined(__AMX_TILE__) && !defined(__AMXTILE__)
#error "amx_tiles.h is for files compiled with -mamx-tile (engine/kernels/CMakeLists.txt)"
#endif

namespace maum::kernels::x86 {
namespace {  // compiled into each AMX file: internal linkage

constexpr size_t kTileRows = 16;                           // rows of an A or C tile
constexpr size_t kTileRowBytes = 64;                       // bytes per tile row
constexpr size_t kBTileBytes = kTileRows * kTileRowBytes;  // a B tile: 16 rows of 64 bytes
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

// rows0 / rows1: the rows of row tile 0 / 1 (1-16); rows1 = 0 leaves row tile 1's tiles
// unconfigured (they are not used then).
inline TileConfig tile_config(unsigned rows0, unsigned rows1) {
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

// A tiles from a buffer this function's caller has just written: with the "memory" clobber, GCC
// emits those stores before the load (the buffer's address is an operand, so the clobber covers
// it). stride: bytes between the buffer's rows.
template <int MR>
inline void load_written_a_tiles(const uint8_t* rows0, size_t stride) {
  __asm__ volatile("tileloadd (%0,%1,1), %%tmm4" : : "r"(rows0), "r"(stride) : "memory");
  if constexpr (MR == 2) {
    __asm__ volatile("tileloadd (%0,%1,1), %%tmm5"
                     :
                     : "r"(rows0 + kTileRows * stride), "r"(stride)
                     : "memory");
  }
}

// One k step with the A tiles loaded: B tiles of the step, then the MR x NP products.
template <class Dot, int MR, int NP>
inline void multiply_step(const uint8_t* b0, const uint8_t* b1) {
  _tile_loadd(6, b0, 64);
  if constexpr (NP == 2) _tile_loadd(7, b1, 64);
  Dot::template dot<0, 4, 6>();
  if constexpr (NP == 2) Dot::template dot<1, 4, 7>();
  if constexpr (MR == 2) {
    Dot::template dot<2, 5, 6>();
    if constexpr (NP == 2) Dot::template dot<3, 5, 7>();
  }
}

struct TileBlock {
  const uint8_t* a;       // the block's first row, column 0, for the k steps read in place
  size_t lda;             // bytes
  const uint8_t* a_tail;  // [32][64 bytes] written by the caller: the step after k_blocks, or null
  const uint8_t* b;       // the block's first packed panel
  size_t panel_stride;    // bytes between packed panels
  size_t k_blocks;        // whole k steps (64 bytes of every A row) read from a
};

// The sums of an MR x NP tile block into acc[tile] (tile = 2·row tile + panel; 16 x 16 int32 or
// fp32 each, rows 64 bytes apart).
template <class Dot, bool AWritten, int MR, int NP, class T>
void block_sums(const TileBlock& blk, T (*acc)[kTileRows * kPackPanel]) {
  static_assert(sizeof(T) * kPackPanel == kTileRowBytes, "a C tile row is 16 32-bit sums");
  _tile_zero(0);
  if constexpr (NP == 2) _tile_zero(1);
  if constexpr (MR == 2) {
    _tile_zero(2);
    if constexpr (NP == 2) _tile_zero(3);
  }
  const uint8_t* b0 = blk.b;
  const uint8_t* b1 = blk.b + blk.panel_stride;
  for (size_t kb = 0; kb < blk.k_blocks; ++kb) {
    if constexpr (AWritten) {
      load_written_a_tiles<MR>(blk.a + kb * kTileRowBytes, blk.lda);
    } else {
      _tile_loadd(4, blk.a + kb * kTileRowBytes, blk.lda);
      if constexpr (MR == 2) _tile_loadd(5, blk.a + kTileRows * blk.lda + kb * kTileRowBytes, blk.lda);
    }
    multiply_step<Dot, MR, NP>(b0 + kb * kBTileBytes, b1 + kb * kBTileBytes);
  }
  if (blk.a_tail) {
    load_written_a_tiles<MR>(blk.a_tail, kTileRowBytes);
    multiply_step<Dot, MR, NP>(b0 + blk.k_blocks * kBTileBytes, b1 + blk.k_blocks * kBTileBytes);
  }
  _tile_stored(0, acc[0], 64);
  if constexpr (NP == 2) _tile_stored(1, acc[1], 64);
  if constexpr (MR == 2) {
    _tile_stored(2, acc[2], 64);
    if constexpr (NP == 2) _tile_stored(3, acc[3], 64);
  }
}

// block_sums with MR (1, 2 row tiles) and NP (1, 2 panels) chosen at run time.
template <class Dot, bool AWritten, class T>
void block_sums(const TileBlock& blk, bool two_row_tiles, bool two_panels,
                T (*acc)[kTileRows * kPackPanel]) {
  if (two_row_tiles) {
    if (two_panels) block_sums<Dot, AWritten, 2, 2>(blk, acc);
    else block_sums<Dot, AWritten, 2, 1>(blk, acc);
  } else {
    if (two_panels) block_sums<Dot, AWritten, 1, 2>(blk, acc);
    else block_sums<Dot, AWritten, 1, 1>(blk, acc);
  }
}

// Where one block of the loop below lies: rows r0 + [0, rows[0]) in row tile 0 and
// r0 + 16 + [0, rows[1]) in row tile 1 (rows[1] = 0: none), columns c0 + [0, 16·panels).
struct BlockAt {
  size_t r0, rows[2], c0;
  int panels;
};

// Calls block(at) for every block of rows [0, m) x columns [n_begin, n_end) (n_begin a multiple
// of 16): the whole 32-row blocks under one tile configuration, then the 1-31 rows left in one
// more block under another with that many rows (LDTILECFG zeroes every tile, so the
// configuration changes only between blocks: at most twice per call); columns outer, so a
// column block's B tiles are reused by every row block while they are in cache.
template <class F>
void for_each_block(size_t m, size_t n_begin, size_t n_end, F&& block) {
  const size_t m_whole = m / kBlockRows * kBlockRows, rest = m - m_whole;
  const size_t rest0 = rest < kTileRows ? rest : kTileRows;
  const BlockAt phases[2] = {{0, {kTileRows, kTileRows}, 0, 0}, {m_whole, {rest0, rest - rest0}, 0, 0}};
  const size_t ends[2] = {m_whole, m};
  for (int ph = 0; ph < 2; ++ph) {
    if (phases[ph].r0 == ends[ph]) continue;
    load_tile_config(tile_config(static_cast<unsigned>(phases[ph].rows[0]),
                                 static_cast<unsigned>(phases[ph].rows[1])));
    BlockAt at = phases[ph];
    for (at.c0 = n_begin; at.c0 < n_end; at.c0 += kBlockCols) {
      at.panels = n_end - at.c0 > kPackPanel ? 2 : 1;
      for (at.r0 = phases[ph].r0; at.r0 < ends[ph]; at.r0 += kBlockRows) block(at);
    }
  }
}

}  // namespace
}  // namespace maum::kernels::x86

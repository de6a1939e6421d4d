// Internal to the x86 kernel files: Ops::linear_f32 on weights packed once at load in the shared
// panel layout [n/16][k][16] (ref::pack_f32_panels), written once against Vec<float, Tag> and
// instantiated by x86/avx2_gemm.cpp and x86/avx512_gemm.cpp with their own Vec, tile, K block and
// row chunk (include x86/vec_avx2.h or x86/vec_avx512.h first).
//
// Why not a BLAS sgemm (the avx2 table ran OpenBLAS's until 2026-11-28): sgemm packs its operands
// on every call, and for the few rows of one sentence (m ~ 24) packing BERT-base's weights took as
// long as the multiplication itself (perf, Zen 3: sgemm_incopy 37% of a pass, the kernel 37%);
// packed once at load, each weight is read once per call. Each output is summed in k order (one FMA
// per k, K blocks stored to y and reloaded), so a row's result does not depend on the other rows of
// the call.
#pragma once
#include <immintrin.h>

#include <algorithm>
#include <cstddef>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/vec.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels::x86 {
namespace {  // compiled with each ISA's flags: internal linkage (see x86/vec.h)
namespace f32_packed {

struct TileArgs : TileOutput {
  const float* a;        // x at (row0, k0)
  size_t lda;
  const float* b;        // the tile's first panel at k0
  size_t panel_stride;   // floats between consecutive panels (k · 16)
  size_t kc;             // k in this block
  const float* prefetch; // the next tile's first panel at k0 (one line per k), or null
};

// The loops over tile rows and vectors are unrolled so that GCC keeps the accumulators in
// registers (see x86/vec_bf16.h).
template <class V, int MR, int NV>
void tile(const TileArgs& t) {
  typename V::reg acc[MR][NV];
  typename V::mask masks[NV];
  tile_begin<V, MR, NV>(t, acc, masks);
  for (size_t kk = 0; kk < t.kc; ++kk) {
    if (t.prefetch) _mm_prefetch(reinterpret_cast<const char*>(t.prefetch + kk * 16), _MM_HINT_T1);
    typename V::reg w[NV];
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) w[j] = V::load(panel_vector<V>(t, j) + kk * 16);
    fma_step<V, MR, NV>(acc, w, t.a + kk, t.lda);
  }
  tile_end<V, MR, NV>(t, acc, masks);
}

}  // namespace f32_packed

// Ops::linear_f32 with MR x NV·W register tiles (NV·W a multiple of 16: whole panels), K blocks
// of KBlock, and rows in chunks whose x block is at most ChunkBytes (0: one chunk); with
// PrefetchNext, a chunk's first row tile prefetches the next tile's panel (one line per k) into
// L2, so the weights of one sentence's pass come in ahead of their FMAs (BERT-base on Zen 3: seq
// 24 ~8% faster). Weights without a packed copy (w.packed null) go to linear_f32_rows
// (x86/vec_kernels.h).
template <class V, int MR, int NV, size_t KBlock, size_t ChunkBytes, bool PrefetchNext>
void linear_f32_packed(const float* x, size_t ldx, const LinearF32& w, float* y, size_t ldy,
                       size_t m, size_t n_begin, size_t n_end, Epilogue epilogue) {
  using namespace f32_packed;
  constexpr size_t W = V::width, kTileCols = NV * W;
  static_assert(kTileCols % 16 == 0, "whole panels");
  // Each chunk streams the call's weights once more (from DRAM for BERT-base), each column tile
  // streams its chunk's x once: chunks of equal size, as few as the budget allows.
  constexpr size_t kMaxChunkRows =
      ChunkBytes == 0 ? ~size_t(0) / 2
                      : std::max<size_t>(MR, ChunkBytes / (KBlock * sizeof(float)) / MR * MR);
  if (n_end <= n_begin || m == 0) return;
  const size_t k = w.k;
  if (w.packed == nullptr || k == 0) {
    linear_f32_rows<V>(x, ldx, w, y, ldy, m, n_begin, n_end, epilogue);
    return;
  }
  TileArgs t;
  t.lda = ldx;
  t.panel_stride = k * 16;
  t.ldc = ldy;
  t.epilogue = epilogue;
  for (size_t k0 = 0; k0 < k; k0 += KBlock) {
    t.kc = k - k0 < KBlock ? k - k0 : KBlock;
    t.accumulate = k0 > 0;
    t.finish = k0 + t.kc == k;
    const size_t chunks = (m + kMaxChunkRows - 1) / kMaxChunkRows;
    const size_t chunk_rows = ((m + chunks - 1) / chunks + MR - 1) / MR * MR;
    for (size_t r_chunk = 0; r_chunk < m; r_chunk += chunk_rows) {
      const size_t rows = m - r_chunk < chunk_rows ? m - r_chunk : chunk_rows;
      for (size_t c0 = n_begin; c0 < n_end; c0 += kTileCols) {
        t.cols = n_end - c0 < kTileCols ? n_end - c0 : kTileCols;
        t.b = w.packed + (c0 / 16) * t.panel_stride + k0 * 16;
        t.bias = w.bias ? w.bias + c0 : nullptr;
        const size_t vectors = (t.cols + W - 1) / W;
        const size_t next = c0 + kTileCols;
        for (size_t r0 = r_chunk; r0 < r_chunk + rows; r0 += MR) {
          t.prefetch = PrefetchNext && r0 == r_chunk && next < n_end
                           ? t.b + (kTileCols / 16) * t.panel_stride
                           : nullptr;
          t.a = x + r0 * ldx + k0;
          t.c = y + r0 * ldy + c0;
          with_count<MR>(r_chunk + rows - r0, [&](auto mr) {
            with_count<NV>(vectors, [&](auto nv) { f32_packed::tile<V, mr(), nv()>(t); });
          });
        }
      }
    }
  }
}

}  // namespace
}  // namespace maum::kernels::x86

// AVX-512 VNNI int8 linear layer: vpdpbusd (u8 activations x s8 weights, 4 products summed into
// each int32 lane) on weights packed at load into [n/16][k/4][16 columns][4 k] blocks, so one
// 64-byte load feeds 16 output columns and one broadcast 4-byte group of a row of q feeds them
// all. Tile: 6 rows x 64 columns = 24 int32 accumulators. The zero point of the u8 activations
// (+128) is removed exactly in int32 with the precomputed 128·row_sum[n], then the result is
// scaled, biased and run through the epilogue in registers (x86/u8s8_avx512.h, shared with the
// AMX kernel).
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/u8s8_avx512.h"
#include "engine/kernels/x86/vec_avx512.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {
namespace {

using V = x86::Vec<float, x86::Avx512>;

constexpr size_t kRowsPerTile = 6;
constexpr size_t kPanelsPerTile = 4;

struct TileArgs {
  const uint8_t* a;    // q at (row0, 0)
  size_t lda;
  const int8_t* b;     // packed panel of the tile's first column
  size_t panel_stride; // bytes between consecutive panels (k4 * 16)
  size_t k_full;       // k rounded down to a multiple of 4
  size_t k;            // the real k (a tail group of 1..3 is read byte by byte)
  const float* x_scale;  // at row0
  const float* w_scale;  // at col0
  const int32_t* row_sum;  // at col0
  const float* bias;   // at col0, or null
  float* c;            // y at (row0, col0)
  size_t ldc;
  Epilogue epilogue;
  __mmask16 last_mask;
  // The next 64-column slab, or null: prefetched into L2 by the first row block of this one (the
  // weights stream from DRAM once per forward pass; see avx512_gemm.cpp).
  const int8_t* prefetch;
};

inline int32_t tail_group(const uint8_t* row, size_t from, size_t k) {
  uint8_t bytes[4] = {0, 0, 0, 0};
  for (size_t i = from; i < k; ++i) bytes[i - from] = row[i];
  int32_t v;
  std::memcpy(&v, bytes, 4);
  return v;
}

inline int32_t load_group(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

template <int MR, int NP, bool kPrefetch>
void tile(const TileArgs& t) {
  __m512i acc[MR][NP];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_setzero_si512();
  const int8_t* b = t.b;
  const uint8_t* rows[MR];
  for (int i = 0; i < MR; ++i) rows[i] = t.a + i * t.lda;
  // The tail group of 1..3 k (weights are zero-padded there) is gathered from the bytes that
  // exist, then runs through the same loop body as the full groups.
  int32_t tail[MR];
  for (int i = 0; i < MR; ++i) tail[i] = t.k_full < t.k ? tail_group(rows[i], t.k_full, t.k) : 0;
  const size_t k_groups = (t.k + 3) / 4 * 4;
  for (size_t kg = 0; kg < k_groups; kg += 4) {
    __m512i bv[NP];
    for (int j = 0; j < NP; ++j) {
      bv[j] = _mm512_loadu_si512(reinterpret_cast<const void*>(b + j * t.panel_stride + kg * 16));
    }
    if (kPrefetch) {
      for (int j = 0; j < 4; ++j) {
        _mm_prefetch(reinterpret_cast<const char*>(t.prefetch + j * t.panel_stride + kg * 16),
                     _MM_HINT_T1);
      }
    }
    const bool full = kg < t.k_full;
    for (int i = 0; i < MR; ++i) {
      const __m512i av = _mm512_set1_epi32(full ? load_group(rows[i] + kg) : tail[i]);
      for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], av, bv[j]);
    }
  }
  for (int j = 0; j < NP; ++j) {
    const __mmask16 mask = j == NP - 1 ? t.last_mask : static_cast<__mmask16>(0xffff);
    const auto columns = x86::U8s8Columns::load(mask, t.row_sum + j * 16, t.w_scale + j * 16,
                                                t.bias ? t.bias + j * 16 : nullptr);
    for (int i = 0; i < MR; ++i)
      columns.store(t.c + i * t.ldc + j * 16, acc[i][j], t.x_scale[i], t.epilogue);
  }
}

void run_tile(const TileArgs& t, size_t rows, size_t panels) {
  x86::with_count<int(kRowsPerTile)>(rows, [&](auto mr) {
    x86::with_count<int(kPanelsPerTile)>(panels, [&](auto np) {
      if (t.prefetch) {
        tile<mr(), np(), true>(t);
      } else {
        tile<mr(), np(), false>(t);
      }
    });
  });
}

void linear_u8s8(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
                 const float* bias, float* y, size_t ldy, size_t m, size_t n_begin, size_t n_end,
                 Epilogue epilogue) {
  if (n_end <= n_begin || m == 0) return;
  const size_t k4 = (w.k + 3) / 4 * 4;
  const size_t panel_stride = k4 * 16;
  for (size_t c0 = n_begin; c0 < n_end; c0 += kPanelsPerTile * 16) {
    const size_t cols = n_end - c0 < kPanelsPerTile * 16 ? n_end - c0 : kPanelsPerTile * 16;
    const size_t panels = (cols + 15) / 16;
    TileArgs t;
    t.lda = ldq;
    t.b = w.packed + (c0 / 16) * panel_stride;
    t.panel_stride = panel_stride;
    t.k_full = w.k / 4 * 4;
    t.k = w.k;
    t.w_scale = w.scale + c0;
    t.row_sum = w.row_sum + c0;
    t.bias = bias ? bias + c0 : nullptr;
    t.ldc = ldy;
    t.epilogue = epilogue;
    t.last_mask = V::tail_mask(cols - (panels - 1) * 16);
    const int8_t* next =
        c0 + kPanelsPerTile * 16 < n_end ? t.b + kPanelsPerTile * panel_stride : nullptr;
    for (size_t r0 = 0; r0 < m; r0 += kRowsPerTile) {
      const size_t rows = m - r0 < kRowsPerTile ? m - r0 : kRowsPerTile;
      t.prefetch = r0 == 0 ? next : nullptr;
      t.a = q + r0 * ldq;
      t.x_scale = x_scale + r0;
      t.c = y + r0 * ldy + c0;
      run_tile(t, rows, panels);
    }
  }
}

}  // namespace

void fill_vnni_gemm(Ops& ops) {
  set_linear_u8s8<linear_u8s8>(ops, ref::packed_u8s8_panels_size, pack_u8s8_panels_avx2);
}

}  // namespace maum::kernels

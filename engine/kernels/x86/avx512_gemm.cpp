// AVX-512 fp32 linear layer on weights packed once at load ([n/16][k][16] panels): a 6-row x
// 64-column register tile (24 zmm accumulators), K blocked at 768 so a 6-row block of x stays in
// L1 and the 64-column weight slab (192 KiB) in L2 while every row block streams past it, and the
// bias + GELU epilogue applied to the tile while it is still in registers. Unpacked weights go to OpenBLAS.
#include <immintrin.h>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/vec_avx512.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {
namespace {

using V = x86::Vec<float, x86::Avx512>;

constexpr size_t kRowsPerTile = 6;
constexpr size_t kPanelsPerTile = 4;
constexpr size_t kKBlock = 768;  // measured on BERT-base shapes: 192/384 are slower, most with cold weights

struct TileArgs {
  const float* a;      // x at (row0, k0)
  size_t lda;
  const float* b;      // packed panel of the tile's first column, at k0
  size_t panel_stride; // floats between consecutive panels (k * 16)
  size_t kc;
  float* c;            // y at (row0, col0)
  size_t ldc;
  bool accumulate;     // add to c (a later K block) instead of overwriting
  bool finish;         // last K block: bias + epilogue
  const float* bias;   // at col0, or null
  Epilogue epilogue;
  __mmask16 last_mask; // valid columns of the tile's last panel
};

template <int MR, int NP>
void tile(const TileArgs& t) {
  __m512 acc[MR][NP];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NP; ++j) {
      if (t.accumulate) {
        const __mmask16 mask = j == NP - 1 ? t.last_mask : static_cast<__mmask16>(0xffff);
        acc[i][j] = _mm512_maskz_loadu_ps(mask, t.c + i * t.ldc + j * 16);
      } else {
        acc[i][j] = _mm512_setzero_ps();
      }
    }
  const float* a = t.a;
  const float* b = t.b;
  for (size_t kk = 0; kk < t.kc; ++kk) {
    __m512 bv[NP];
    for (int j = 0; j < NP; ++j) bv[j] = _mm512_loadu_ps(b + j * t.panel_stride + kk * 16);
    for (int i = 0; i < MR; ++i) {
      const __m512 av = _mm512_set1_ps(a[i * t.lda + kk]);
      for (int j = 0; j < NP; ++j) acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);
    }
  }
  if (t.finish) {
    for (int j = 0; j < NP; ++j) {
      const __mmask16 mask = j == NP - 1 ? t.last_mask : static_cast<__mmask16>(0xffff);
      const __m512 bias = t.bias ? _mm512_maskz_loadu_ps(mask, t.bias + j * 16) : _mm512_setzero_ps();
      for (int i = 0; i < MR; ++i) {
        acc[i][j] = x86::epilogue<V>(_mm512_add_ps(acc[i][j], bias), t.epilogue);
      }
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NP; ++j) {
      const __mmask16 mask = j == NP - 1 ? t.last_mask : static_cast<__mmask16>(0xffff);
      _mm512_mask_storeu_ps(t.c + i * t.ldc + j * 16, mask, acc[i][j]);
    }
}

void run_tile(const TileArgs& t, size_t rows, size_t panels) {
  x86::with_count<int(kRowsPerTile)>(rows, [&](auto mr) {
    x86::with_count<int(kPanelsPerTile)>(panels, [&](auto np) { tile<mr(), np()>(t); });
  });
}

void linear_f32(const float* x, size_t ldx, const LinearF32& w, float* y, size_t ldy, size_t m,
                size_t n_begin, size_t n_end, Epilogue epilogue) {
  if (n_end <= n_begin || m == 0) return;
  const size_t k = w.k;
  if (w.packed == nullptr || k == 0) {
    x86::linear_f32_blas<V>(x, ldx, w, y, ldy, m, n_begin, n_end, epilogue);
    return;
  }
  const size_t panel_stride = k * 16;
  for (size_t k0 = 0; k0 < k; k0 += kKBlock) {
    const size_t kc = k - k0 < kKBlock ? k - k0 : kKBlock;
    for (size_t c0 = n_begin; c0 < n_end; c0 += kPanelsPerTile * 16) {
      const size_t cols = n_end - c0 < kPanelsPerTile * 16 ? n_end - c0 : kPanelsPerTile * 16;
      const size_t panels = (cols + 15) / 16;
      TileArgs t;
      t.lda = ldx;
      t.b = w.packed + (c0 / 16) * panel_stride + k0 * 16;
      t.panel_stride = panel_stride;
      t.kc = kc;
      t.ldc = ldy;
      t.accumulate = k0 > 0;
      t.finish = k0 + kc == k;
      t.bias = w.bias ? w.bias + c0 : nullptr;
      t.epilogue = epilogue;
      t.last_mask = V::tail_mask(cols - (panels - 1) * 16);
      for (size_t r0 = 0; r0 < m; r0 += kRowsPerTile) {
        const size_t rows = m - r0 < kRowsPerTile ? m - r0 : kRowsPerTile;
        t.a = x + r0 * ldx + k0;
        t.c = y + r0 * ldy + c0;
        run_tile(t, rows, panels);
      }
    }
  }
}

}  // namespace

void fill_avx512_gemm(Ops& ops) {
  ops.gemm_f32 = gemm_f32_using<linear_f32>;
  ops.linear_f32 = linear_f32;
  ops.packed_f32_size = ref::packed_f32_panels_size;
  ops.pack_f32 = ref::pack_f32_panels;
}

}  // namespace maum::kernels

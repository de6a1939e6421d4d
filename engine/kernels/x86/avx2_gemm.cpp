// The avx2 table's fp32 linear layer (x86/vec_f32_packed.h): weights packed once at load into
// 16-column panels, 6 rows x 16 columns per register tile (12 accumulators + 2 weight vectors + 1
// broadcast of the 16 ymm registers), K blocks of 768 (256 measured slower on Zen 3), rows in
// chunks of at most 384 KiB of x (128 rows: one sentence is one chunk, a long batch is cut so that
// its x stays in L2), the next panel prefetched while a chunk's first row tile runs, bias + GELU
// applied to the tile in registers.
#include <immintrin.h>

#include <algorithm>

#include "engine/kernels/x86/vec_avx2.h"
#include "engine/kernels/x86/vec_f32_packed.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {
namespace {

// r[j] becomes element j of the 8 rows r[0..7].
inline void transpose_8x8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}

}  // namespace

// ref::pack_f32_panels' layout [n/16][k][16], 8 k of a whole panel at a time as two 8 x 8
// transposes in registers: the reference's one-float copies were 15% of a one-sentence BERT-base
// fp32 run's CPU on Zen 4 (every weight passes through here at load).
void pack_f32_panels_avx2(const float* w, size_t n, size_t k, float* packed) {
  for (size_t p = 0; p < n; p += kPackPanel) {
    const float* src = w + p * k;
    float* panel = packed + p * k;
    if (n - p < kPackPanel) {  // a last panel of fewer rows: the reference zero-fills the rest
      ref::pack_f32_panels(src, n - p, k, panel);
      break;
    }
    size_t kk = 0;
    for (; kk + 8 <= k; kk += 8) {
      for (size_t half = 0; half < kPackPanel; half += 8) {
        __m256 r[8];
        for (size_t i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + (half + i) * k + kk);
        transpose_8x8(r);
        for (size_t j = 0; j < 8; ++j) _mm256_storeu_ps(panel + (kk + j) * kPackPanel + half, r[j]);
      }
    }
    for (; kk < k; ++kk)
      for (size_t c = 0; c < kPackPanel; ++c) panel[kk * kPackPanel + c] = src[c * k + kk];
  }
}

void fill_avx2_gemm(Ops& ops) {
  using V = x86::Vec<float, x86::Avx2>;
  ops.linear_f32 = x86::linear_f32_packed<V, 6, 2, 768, 384 * 1024, true>;
  ops.gemm_f32 = gemm_f32_using<x86::linear_f32_rows<V>>;
  ops.packed_f32_size = ref::packed_f32_panels_size;
  ops.pack_f32 = pack_f32_panels_avx2;
}

}  // namespace maum::kernels

// AVX2 int8 linear layer for CPUs without VNNI. vpmaddubsw (u8 x s8 -> saturating int16 pair
// sums) silently clips 255·127·2 = 64770 to 32767 — the wrong-results bug of int8 inference on
// such CPUs — so both operands are widened to int16 first (vpmovzxbw / vpmovsxbw) and multiplied
// with vpmaddwd into int32, which cannot overflow here. Reads the same packed layout as the VNNI
// kernel ([n/16][k/4][16][4]): one 16-byte load is 4 columns x 4 k; the two int32 halves per
// column are folded with hadd at the end. Tile: 2 rows x 16 columns.
#include <immintrin.h>

#include <cstring>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/vec_avx2.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {
namespace {

using V = x86::Vec<float, x86::Avx2>;

inline int32_t group_at(const uint8_t* row, size_t kg, size_t k) {
  if (kg + 4 <= k) {
    int32_t v;
    std::memcpy(&v, row + kg, 4);
    return v;
  }
  uint8_t bytes[4] = {0, 0, 0, 0};
  for (size_t i = kg; i < k; ++i) bytes[i - kg] = row[i];
  int32_t v;
  std::memcpy(&v, bytes, 4);
  return v;
}

inline __m256i broadcast_group(int32_t group) {
  const __m128i wide = _mm_cvtepu8_epi16(_mm_cvtsi32_si128(group));
  return _mm256_broadcastq_epi64(wide);
}

// acc[0..3] hold, per column c of the panel, (k0k1, k2k3) partial sums in adjacent lanes.
inline void fold(const __m256i acc[4], __m256i out[2]) {
  out[0] = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[0], acc[1]), 0xD8);
  out[1] = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc[2], acc[3]), 0xD8);
}

template <int MR>
void panel_tile(const uint8_t* q, size_t ldq, const int8_t* panel, size_t k, const float* x_scale,
                const float* w_scale, const int32_t* row_sum, const float* bias, float* y,
                size_t ldy, size_t cols, Epilogue epilogue) {
  __m256i acc[MR][4];
  for (int i = 0; i < MR; ++i)
    for (int c = 0; c < 4; ++c) acc[i][c] = _mm256_setzero_si256();
  // Full groups read 4 bytes of each row; the tail group (1..3 k, weights zero-padded) is
  // gathered once up front so the loop body stays branch-free and GCC keeps acc in registers.
  const size_t k_full = k / 4 * 4;
  int32_t tail[MR];
  for (int i = 0; i < MR; ++i) tail[i] = k_full < k ? group_at(q + i * ldq, k_full, k) : 0;
  for (size_t kg = 0; kg < k; kg += 4) {
    const int8_t* bp = panel + kg * 16;
    __m256i w[4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      w[c] = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bp + 16 * c)));
    }
    const bool full = kg < k_full;
#pragma GCC unroll 4
    for (int i = 0; i < MR; ++i) {
      int32_t g;
      if (full) std::memcpy(&g, q + i * ldq + kg, 4); else g = tail[i];
      const __m256i a = broadcast_group(g);
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) acc[i][c] = _mm256_add_epi32(acc[i][c], _mm256_madd_epi16(a, w[c]));
    }
  }
  // Per-column constants, zero beyond `cols` (row_sum, scale and bias are not padded).
  int32_t rs[16] = {0};
  float ws[16] = {0}, bs[16] = {0};
  for (size_t c = 0; c < cols; ++c) {
    rs[c] = row_sum[c] * 128;
    ws[c] = w_scale[c];
    bs[c] = bias ? bias[c] : 0.0f;
  }
  for (int i = 0; i < MR; ++i) {
    __m256i sums[2];
    fold(acc[i], sums);
    for (int h = 0; h < 2; ++h) {
      const size_t c0 = 8 * h;
      if (c0 >= cols) break;
      const __m256i zp = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rs + c0));
      const __m256 real = _mm256_cvtepi32_ps(_mm256_sub_epi32(sums[h], zp));
      const __m256 s = _mm256_mul_ps(_mm256_set1_ps(x_scale[i]), _mm256_loadu_ps(ws + c0));
      __m256 out = _mm256_mul_ps(s, real);
      if (bias) out = _mm256_add_ps(out, _mm256_loadu_ps(bs + c0));
      out = x86::epilogue<V>(out, epilogue);
      _mm256_maskstore_ps(y + i * ldy + c0, V::tail_mask(cols - c0), out);
    }
  }
}

void linear_u8s8(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
                 const float* bias, float* y, size_t ldy, size_t m, size_t n_begin, size_t n_end,
                 Epilogue epilogue) {
  if (w.packed == nullptr) {
    ref::linear_u8s8(q, ldq, x_scale, w, bias, y, ldy, m, n_begin, n_end, epilogue);
    return;
  }
  const size_t k4 = (w.k + 3) / 4 * 4;
  for (size_t c0 = n_begin; c0 < n_end; c0 += 16) {
    const size_t cols = n_end - c0 < 16 ? n_end - c0 : 16;
    const int8_t* panel = w.packed + (c0 / 16) * k4 * 16;
    const float* b = bias ? bias + c0 : nullptr;
    size_t r = 0;
    for (; r + 2 <= m; r += 2) {
      panel_tile<2>(q + r * ldq, ldq, panel, w.k, x_scale + r, w.scale + c0, w.row_sum + c0, b,
                    y + r * ldy + c0, ldy, cols, epilogue);
    }
    if (r < m) {
      panel_tile<1>(q + r * ldq, ldq, panel, w.k, x_scale + r, w.scale + c0, w.row_sum + c0, b,
                    y + r * ldy + c0, ldy, cols, epilogue);
    }
  }
}

}  // namespace

void fill_avx2_int8(Ops& ops) { set_linear_u8s8_panels<linear_u8s8>(ops); }

}  // namespace maum::kernels

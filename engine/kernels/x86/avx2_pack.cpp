// The load-time work on weights for every x86 table, with AVX2: the packings into the shared
// layouts (byte for byte the reference's: ref::pack_*), and the int8 weights' row sums. Every
// weight of a model passes through here once per load, so this is part of every cold start (each
// was 5-34% of a one-sentence BERT-base run's CPU on Zen 4 in its reference form).
#include <immintrin.h>

#include <algorithm>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/vec_avx2.h"
#include "engine/kernels/x86/vec_bf16.h"

namespace maum::kernels {
namespace {

// The 8 x 8 register transpose of the AVX2 kernels (Vec::transpose).
using V = x86::Vec<float, x86::Avx2>;

// The panel layout padded to k_pad, as ref::pack_u8s8_panel_groups writes it: in a whole panel,
// 4 rows x 32 k at a time, a 4 x 4 transpose of 4-byte groups in each 128-bit lane (vpunpck*dq,
// vpunpck*qdq) leaves 4 rows' bytes of one group of 4 k in 16 bytes, stored where that group's
// 64-byte line holds those rows: ~3x fewer instructions than the reference's 4-byte copies and
// zero fill, over every int8 weight of every cold start. The reference's code packs the rest
// (past the last whole 32 k, a last panel of fewer rows, the zero padding).
void pack_u8s8_padded(const int8_t* w, size_t n, size_t k, size_t k_pad, int8_t* packed) {
  for (size_t p = 0; p < n; p += kPackPanel) {
    const size_t rows = std::min(kPackPanel, n - p);
    const int8_t* src = w + p * k;
    int8_t* panel = packed + p * k_pad;
    size_t kg = 0;
    if (rows == kPackPanel) {
      for (; kg + 32 <= k; kg += 32) {
        int8_t* line = panel + kg * kPackPanel;  // group kg / 4 + j: line + j * 64
        for (size_t c = 0; c < kPackPanel; c += 4) {
          auto row = [&](size_t r) {
            return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + (c + r) * k + kg));
          };
          const __m256i r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3);
          const __m256i t0 = _mm256_unpacklo_epi32(r0, r1), t1 = _mm256_unpackhi_epi32(r0, r1);
          const __m256i t2 = _mm256_unpacklo_epi32(r2, r3), t3 = _mm256_unpackhi_epi32(r2, r3);
          const __m256i groups[4] = {_mm256_unpacklo_epi64(t0, t2), _mm256_unpackhi_epi64(t0, t2),
                                     _mm256_unpacklo_epi64(t1, t3), _mm256_unpackhi_epi64(t1, t3)};
          for (size_t j = 0; j < 4; ++j) {
            _mm_storeu_si128(reinterpret_cast<__m128i*>(line + j * 64 + c * 4),
                             _mm256_castsi256_si128(groups[j]));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(line + (j + 4) * 64 + c * 4),
                             _mm256_extracti128_si256(groups[j], 1));
          }
        }
      }
    }
    ref::pack_u8s8_panel_groups(src, rows, k, k_pad, kg, panel);
  }
}

// The bf16 layout with `pairs` k pairs per panel, as ref::pack_bf16_panel_pairs writes it: in a
// whole panel, 16 k of each row are rounded (x86::round_bf16, kernels.h's rule: the reference's
// bits), narrowed to 16 bf16 in k order (vpsrld, vpackusdw, vpermq), i.e. 8 of the layout's 32-bit
// pair units, and 8 rows' units transposed 8 x 8 so that each pair's row of 16 columns is two
// stores. The reference packs the rest (the last k, a short last panel, the zero padding).
void pack_bf16_padded(const float* w, size_t n, size_t k, size_t pairs, uint16_t* packed) {
  for (size_t p = 0; p < n; p += kPackPanel) {
    const size_t rows = std::min(kPackPanel, n - p);
    const float* src = w + p * k;
    uint16_t* panel = packed + p * 2 * pairs;
    size_t pair = 0;
    if (rows == kPackPanel) {
      for (; 2 * pair + 16 <= k; pair += 8) {
        for (size_t half = 0; half < kPackPanel; half += 8) {
          __m256 units[8];
          for (size_t i = 0; i < 8; ++i) {
            const float* row = src + (half + i) * k + 2 * pair;
            // Each rounded float's bf16 is its upper half: shifted down, two rows of 8 narrow to
            // 16 uint16, in k order once vpermq undoes vpackusdw's lane interleave.
            auto bf16_of = [](const float* x) {
              const __m256 rounded = x86::round_bf16(_mm256_loadu_ps(x));
              return _mm256_srli_epi32(_mm256_castps_si256(rounded), 16);
            };
            const __m256i narrowed = _mm256_packus_epi32(bf16_of(row), bf16_of(row + 8));
            units[i] = _mm256_castsi256_ps(_mm256_permute4x64_epi64(narrowed, 0xd8));
          }
          V::transpose(units);
          for (size_t j = 0; j < 8; ++j) {
            uint16_t* dst = panel + (pair + j) * 2 * kPackPanel + 2 * half;
            _mm256_storeu_ps(reinterpret_cast<float*>(dst), units[j]);
          }
        }
      }
    }
    ref::pack_bf16_panel_pairs(src, rows, k, pairs, pair, panel);
  }
}

}  // namespace

// Ops::s8_row_stats, which the loader runs over every int8 weight (part of every cold start;
// the compiler's code for the reference loop widens each byte to int32 lanes, ~4x the
// instructions). Per 32 bytes: vpsadbw of w ^ 0x80 (= w + 128 as an unsigned byte) against zero
// sums each 8 bytes into a 64-bit lane, exactly, and the row sum is that total minus 128 per
// byte (an int32 as the reference's, exact for k < 2^24); vpabsb + vpmaxub keep the largest |w| (vpabsb of -128 is 0x80, 128 unsigned).
unsigned s8_row_stats_avx2(const int8_t* w, size_t n, size_t k, int32_t* sums) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i zero = _mm256_setzero_si256();
  __m256i largest = zero;
  unsigned largest_in_tails = 0;
  for (size_t r = 0; r < n; ++r) {
    const int8_t* row = w + r * k;
    __m256i biased = zero;
    size_t i = 0;
    for (; i + 32 <= k; i += 32) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i));
      biased = _mm256_add_epi64(biased, _mm256_sad_epu8(_mm256_xor_si256(v, flip), zero));
      largest = _mm256_max_epu8(largest, _mm256_abs_epi8(v));
    }
    __m128i total =
        _mm_add_epi64(_mm256_castsi256_si128(biased), _mm256_extracti128_si256(biased, 1));
    total = _mm_add_epi64(total, _mm_unpackhi_epi64(total, total));
    int64_t sum = _mm_cvtsi128_si64(total) - 128 * static_cast<int64_t>(i);
    for (; i < k; ++i) {
      sum += row[i];
      const int v = row[i];
      largest_in_tails = std::max(largest_in_tails, static_cast<unsigned>(v < 0 ? -v : v));
    }
    sums[r] = static_cast<int32_t>(sum);
  }
  __m128i m = _mm_max_epu8(_mm256_castsi256_si128(largest), _mm256_extracti128_si256(largest, 1));
  m = _mm_max_epu8(m, _mm_srli_si128(m, 8));
  m = _mm_max_epu8(m, _mm_srli_si128(m, 4));
  m = _mm_max_epu8(m, _mm_srli_si128(m, 2));
  m = _mm_max_epu8(m, _mm_srli_si128(m, 1));
  return std::max(largest_in_tails, static_cast<unsigned>(_mm_cvtsi128_si32(m) & 0xff));
}

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
        V::transpose(r);
        for (size_t j = 0; j < 8; ++j)
          _mm256_storeu_ps(panel + (kk + j) * kPackPanel + half, r[j]);
      }
    }
    for (; kk < k; ++kk)
      for (size_t c = 0; c < kPackPanel; ++c) panel[kk * kPackPanel + c] = src[c * k + kk];
  }
}

void pack_u8s8_panels_avx2(const int8_t* w, size_t n, size_t k, int8_t* packed) {
  pack_u8s8_padded(w, n, k, ref::u8s8_panels_k_pad(k), packed);
}

void pack_u8s8_tiles_avx2(const int8_t* w, size_t n, size_t k, int8_t* packed) {
  pack_u8s8_padded(w, n, k, ref::u8s8_tiles_k_pad(k), packed);
}

void pack_bf16_panels_avx2(const float* w, size_t n, size_t k, uint16_t* packed) {
  pack_bf16_padded(w, n, k, ref::bf16_panel_pairs(k), packed);
}

void pack_bf16_tiles_avx2(const float* w, size_t n, size_t k, uint16_t* packed) {
  pack_bf16_padded(w, n, k, ref::bf16_tile_pairs(k), packed);
}

}  // namespace maum::kernels

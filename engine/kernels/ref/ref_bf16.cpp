// Portable scalar bf16 path: the rounding rule (kernels.h), the shared weight layout and the
// reference linear_bf16. The reference sums each output in fp32 in the order every x86 table uses
// (per k pair: the odd product, then the even one), so with exact bf16 products the FMA tables
// are bit-identical to it before the epilogue (tests/engine/kernels/kernels_test.cpp). Its inner
// loops run over the 16 columns of a panel, which the compiler vectorises without reordering any
// sum (the portable table uses it as it is).
#include <algorithm>
#include <cstring>
#include <vector>

#include "engine/kernels/table.h"

namespace maum::kernels::ref {

uint16_t to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, 4);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x0040u);  // quiet NaN
  if (magnitude < 0x00800000u) return static_cast<uint16_t>((bits >> 16) & 0x8000u);  // ±0
  bits += 0x7fffu + ((bits >> 16) & 1u);  // to nearest, ties to even; Inf stays, overflow -> Inf
  return static_cast<uint16_t>(bits >> 16);
}

float from_bf16(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float x;
  std::memcpy(&x, &bits, 4);
  return x;
}

namespace {

// The panel layout with `pairs` k pairs per panel (at least (k + 1) / 2; the rest zero).
void pack_panels(const float* w, size_t n, size_t k, size_t pairs, uint16_t* packed) {
  for (size_t p = 0; p < n; p += kPackPanel)
    pack_bf16_panel_pairs(w + p * k, std::min(kPackPanel, n - p), k, pairs, 0,
                          packed + p * 2 * pairs);
}

// uint16 values of the layout with `pairs` k pairs per panel.
size_t packed_size(size_t n, size_t pairs) { return panels_of(n) * kPackPanel * 2 * pairs; }

}  // namespace

void pack_bf16_panel_pairs(const float* w, size_t rows, size_t k, size_t pairs, size_t pair_begin,
                           uint16_t* panel) {
  for (size_t pair = pair_begin; pair < pairs; ++pair) {
    uint16_t* dst = panel + pair * 2 * kPackPanel;
    const size_t kk = 2 * pair;
    for (size_t c = 0; c < rows; ++c) {
      const float* row = w + c * k;
      dst[2 * c] = kk < k ? to_bf16(row[kk]) : 0;
      dst[2 * c + 1] = kk + 1 < k ? to_bf16(row[kk + 1]) : 0;
    }
    for (size_t c = rows; c < kPackPanel; ++c) dst[2 * c] = dst[2 * c + 1] = 0;
  }
}

size_t packed_bf16_panels_size(size_t n, size_t k) { return packed_size(n, bf16_panel_pairs(k)); }

void pack_bf16_panels(const float* w, size_t n, size_t k, uint16_t* packed) {
  pack_panels(w, n, k, bf16_panel_pairs(k), packed);
}

size_t packed_bf16_tiles_size(size_t n, size_t k) { return packed_size(n, bf16_tile_pairs(k)); }

void pack_bf16_tiles(const float* w, size_t n, size_t k, uint16_t* packed) {
  pack_panels(w, n, k, bf16_tile_pairs(k), packed);
}

void linear_bf16(const float* x, size_t ldx, const LinearBf16& w, float* y, size_t ldy, size_t m,
                 size_t n_begin, size_t n_end, Epilogue epilogue) {
  if (n_end <= n_begin) return;
  // Rows in chunks: each chunk's rows rounded once, each weight pair widened once per chunk.
  constexpr size_t kRows = 32;
  const size_t k = w.k, pairs = (k + 1) / 2;
  // xr has one spare row: GCC 12 at -O3 vectorises the row loop below with a load of the next
  // row's pair beside each row's (its upper half unused), which for the chunk's last row read 8
  // bytes past the buffer (valgrind; a segfault when the buffer ended a heap page).
  std::vector<float> xr((kRows + 1) * 2 * pairs), acc(kRows * kPackPanel), wide(2 * kPackPanel);
  for (size_t r0 = 0; r0 < m; r0 += kRows) {
    const size_t rows = std::min(kRows, m - r0);
    for (size_t r = 0; r < rows; ++r) {
      float* dst = xr.data() + r * 2 * pairs;
      for (size_t i = 0; i < k; ++i) dst[i] = from_bf16(to_bf16(x[(r0 + r) * ldx + i]));
      if (k % 2) dst[k] = 0.0f;
    }
    for (size_t c0 = n_begin; c0 < n_end; c0 += kPackPanel) {
      const uint16_t* panel = w.packed + c0 * 2 * pairs;
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (size_t p = 0; p < pairs; ++p) {
        const uint16_t* wp = panel + p * 2 * kPackPanel;
        for (size_t i = 0; i < 2 * kPackPanel; ++i) wide[i] = from_bf16(wp[i]);
        for (size_t r = 0; r < rows; ++r) {
          float* a = acc.data() + r * kPackPanel;
          const float odd = xr[r * 2 * pairs + 2 * p + 1], even = xr[r * 2 * pairs + 2 * p];
          for (size_t c = 0; c < kPackPanel; ++c) a[c] += odd * wide[2 * c + 1];
          for (size_t c = 0; c < kPackPanel; ++c) a[c] += even * wide[2 * c];
        }
      }
      const size_t cols = std::min(kPackPanel, n_end - c0);
      for (size_t r = 0; r < rows; ++r)
        for (size_t c = 0; c < cols; ++c)
          y[(r0 + r) * ldy + c0 + c] =
              acc[r * kPackPanel + c] + (w.bias ? w.bias[c0 + c] : 0.0f);
    }
    for (size_t r = 0; r < rows; ++r)
      apply_epilogue(y + (r0 + r) * ldy + n_begin, n_end - n_begin, epilogue);
  }
}

}  // namespace maum::kernels::ref

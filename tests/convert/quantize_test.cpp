// int8 per-output-channel symmetric quantization (docs/FORMAT.md "int8 files"): scale = max|row|/127,
// values in [-127, 127], round half to even, and |w - q * scale| <= scale / 2 for every element;
// with --reduce-range the same with 63 levels.
#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "convert/src/quantize.h"

namespace maum::convert {
namespace {

void expect_error_within_half_a_scale(int levels) {
  SCOPED_TRACE(levels);
  const double top = levels;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  const size_t rows = 64, cols = 257;
  std::vector<float> w(rows * cols);
  for (auto& x : w) x = normal(rng);
  for (size_t c = 0; c < cols; ++c) w[3 * cols + c] *= 1000.0f;  // one row with a far larger range
  QuantizedMatrix q = quantize_rows_int8(w.data(), rows, cols, levels);
  ASSERT_EQ(q.values.size(), rows * cols);
  ASSERT_EQ(q.scales.size(), rows);
  for (size_t r = 0; r < rows; ++r) {
    double max_abs = 0;
    for (size_t c = 0; c < cols; ++c) max_abs = std::max(max_abs, std::fabs(double(w[r * cols + c])));
    EXPECT_NEAR(q.scales[r], max_abs / top, max_abs / top * 1e-6);
    bool hit_top = false;
    for (size_t c = 0; c < cols; ++c) {
      const int v = q.values[r * cols + c];
      EXPECT_GE(v, -levels);
      EXPECT_LE(v, levels);
      hit_top |= std::abs(v) == levels;
      const double err = std::fabs(double(w[r * cols + c]) - double(v) * q.scales[r]);
      // scale/2 plus float rounding of the division (a few ulps of the value).
      EXPECT_LE(err, q.scales[r] / 2 * (1 + 1e-5)) << "row " << r << " col " << c;
    }
    EXPECT_TRUE(hit_top) << "the largest |w| of a row maps to +-levels";
  }
}

TEST(Quantize, ErrorWithinHalfAScalePerElement) {
  expect_error_within_half_a_scale(127);
  expect_error_within_half_a_scale(kReducedRangeLevels);
  EXPECT_EQ(kReducedRangeLevels, 63);  // 255 x 64 x 2 < 2^15: what the AVX2 kernel's fast path needs
}

TEST(Quantize, ZeroRowsTiesAndSigns) {
  // Row 0 all zero: scale 1, values 0 (no division by zero). Row 1: max 127 -> scale 1, so
  // 2.5 -> 2 and 3.5 -> 4 and -2.5 -> -2 (round half to even).
  std::vector<float> w = {0, 0, 0, 0, 127, 2.5f, 3.5f, -2.5f};
  QuantizedMatrix q = quantize_rows_int8(w.data(), 2, 4);
  EXPECT_EQ(q.scales[0], 1.0f);
  for (int c = 0; c < 4; ++c) EXPECT_EQ(q.values[c], 0);
  EXPECT_EQ(q.scales[1], 1.0f);
  EXPECT_EQ(q.values[4], 127);
  EXPECT_EQ(q.values[5], 2);
  EXPECT_EQ(q.values[6], 4);
  EXPECT_EQ(q.values[7], -2);
  std::vector<float> neg = {-1.0f, 0.5f};
  QuantizedMatrix n = quantize_rows_int8(neg.data(), 1, 2);
  EXPECT_EQ(n.values[0], -127);
  EXPECT_NEAR(n.values[1], 63.5, 0.5);  // 0.5 / (1/127): a tie only up to float rounding
}

}  // namespace
}  // namespace maum::convert

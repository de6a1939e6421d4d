// The bf16 linear layer (Ops::linear_bf16, fp32 models at precision bf16) of every table this CPU
// runs, against the scalar reference, which is itself checked against the rounding rule of
// kernels.h (VCVTNEPS2BF16's) and hand-computable sums.
//
// Error budgets, with x̂ = bf16(x), ŵ = bf16(w), u = 2^-8 (bf16's unit roundoff) and
// M = Σ_k |x̂·ŵ| + |b| (the output's magnitude):
//  - against the reference: |Δ| <= 2e-6·sqrt(k)·M + k·2^-126 (fp32 summation order, the fp32
//    linear layer's budget; k·2^-126 for vdpbf16ps's flush of subnormal partial sums), plus the
//    GELU budget 2e-6·(1 + |y|) with a fused epilogue. Every table but the amx one sums in the
//    reference's order with exact products, so without an epilogue the results are also checked
//    bit for bit. The amx table's tdpbf16ps (where the CPU has AMX-BF16) also multiplies exactly
//    and flushes partial sums below 2^-126, but adds in another order (Intel SDM: per instruction,
//    the even and the odd products of 16 pairs in two chains, then their sum added to C): held to
//    the same budget, without bit identity (a row's result still does not depend on the rows
//    beside it).
//  - against the exact product of the unrounded x and w (double): |Δ| <= (2u + u²)·Σ|x·w| + the
//    fp32 summation budget: each operand is rounded to nearest (relative error <= u), never
//    truncated (which could reach 2u each).
//  - rounding: a table multiplying by identity weights returns bf16(x) exactly, subnormals (±0),
//    ties (to even) and values near the top of the range included: the same rule on every ISA.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/kernels/kernels.h"
#include "engine/kernels/table.h"
#include "tests/engine/kernels/kernel_test_util.h"

namespace maum::kernels {
namespace {

uint32_t bits_of(float x) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  return b;
}

float float_of(uint32_t b) {
  float x;
  std::memcpy(&x, &b, 4);
  return x;
}

TEST(Bf16Reference, RoundingRule) {
  EXPECT_EQ(ref::to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(ref::to_bf16(-2.0f), 0xc000);
  // Ties go to the even neighbour: 1 + 2^-8 -> 1, 1 + 3·2^-8 -> 1 + 2^-6; above a tie rounds up.
  EXPECT_EQ(ref::to_bf16(float_of(0x3f808000)), 0x3f80);
  EXPECT_EQ(ref::to_bf16(float_of(0x3f818000)), 0x3f82);
  EXPECT_EQ(ref::to_bf16(float_of(0x3f808001)), 0x3f81);
  EXPECT_EQ(ref::to_bf16(float_of(0xbf808001)), 0xbf81);
  EXPECT_EQ(ref::to_bf16(float_of(0x3f807fff)), 0x3f80);
  // Zero and subnormals become ±0; the smallest normal stays.
  EXPECT_EQ(ref::to_bf16(0.0f), 0x0000);
  EXPECT_EQ(ref::to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(ref::to_bf16(float_of(0x007fffff)), 0x0000);
  EXPECT_EQ(ref::to_bf16(float_of(0x807fffff)), 0x8000);
  EXPECT_EQ(ref::to_bf16(std::numeric_limits<float>::min()), 0x0080);
  // Infinities stay; the largest floats round past bf16's largest finite value to infinity.
  EXPECT_EQ(ref::to_bf16(INFINITY), 0x7f80);
  EXPECT_EQ(ref::to_bf16(-INFINITY), 0xff80);
  EXPECT_EQ(ref::to_bf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(ref::to_bf16(float_of(0x7f7f7fff)), 0x7f7f);
  // NaN: upper half with the quiet bit, even one whose payload lies in the lower half only.
  EXPECT_EQ(ref::to_bf16(float_of(0x7f800001)), 0x7fc0);
  EXPECT_EQ(ref::to_bf16(float_of(0xff812345)), 0xffc1);
  EXPECT_EQ(bits_of(ref::from_bf16(0x3f81)), 0x3f810000u);
  EXPECT_EQ(ref::round_to_bf16(float_of(0x3f818000)), ref::from_bf16(0x3f82));
}

// y = x̂·ŵᵀ + b through the packed layout of one table.
std::vector<float> run_linear(const Ops& o, const std::vector<float>& x, size_t ldx,
                              const std::vector<float>& w, const float* bias, size_t m, size_t n,
                              size_t k, size_t ldy, Epilogue epi, bool split_columns) {
  Aligned<uint16_t> packed(o.packed_bf16_size(n, k) + 1);
  o.pack_bf16(w.data(), n, k, packed.ptr);
  LinearBf16 lw;
  lw.packed = packed.ptr;
  lw.bias = bias;
  lw.n = n;
  lw.k = k;
  std::vector<float> y(m * ldy, 7.0f);
  const size_t split = split_columns && n > kPackPanel ? kPackPanel : n;
  o.linear_bf16(x.data(), ldx, lw, y.data(), ldy, m, 0, split, epi);
  o.linear_bf16(x.data(), ldx, lw, y.data(), ldy, m, split, n, epi);
  return y;
}

TEST(Bf16Reference, KnownSumsAndLayout) {
  // k = 3 (odd: a zero-padded pair), n = 18 (two panels, the second with 2 columns).
  const size_t m = 2, n = 18, k = 3;
  std::vector<float> x = {1, 2, 3, -1, 0.5f, 4}, w(n * k), bias(n);
  for (size_t c = 0; c < n; ++c) {
    w[c * k + 0] = float(c);
    w[c * k + 1] = -1.0f;
    w[c * k + 2] = 0.25f;
    bias[c] = c % 2 ? 1.0f : 0.0f;
  }
  EXPECT_EQ(ref().packed_bf16_size(n, k), 32u * 4);  // 2 panels x 2 pairs x 16 columns x 2
  const auto y = run_linear(ref(), x, k, w, bias.data(), m, n, k, n, Epilogue::kNone, true);
  for (size_t c = 0; c < n; ++c) {
    EXPECT_EQ(y[c], 1.0f * c - 2 + 0.75f + bias[c]) << c;
    EXPECT_EQ(y[n + c], -1.0f * c - 0.5f + 1.0f + bias[c]) << c;
  }
  // x = 1 + 2^-9 rounds to 1 (to nearest even), w = 3 + 2^-6 rounds to 3.
  const std::vector<float> x1 = {float_of(0x3f804000)}, w1 = {float_of(0x40404000)};
  EXPECT_EQ(run_linear(ref(), x1, 1, w1, nullptr, 1, 1, 1, 1, Epilogue::kNone, false)[0], 3.0f);
}

// Every table's bf16 packing (the reference's, and each x86 table's, whose AVX2 code rounds 16 k
// of a row at a time) writes the stated layout: [n/16][pairs][16][2] of to_bf16(w), zero past n
// and past k, pairs = (k + 1) / 2, or (k + 31) / 32 * 16 for the amx table's tiles; with the
// rounding's special cases (quiet and signalling NaN, ±Inf, subnormals, ties, overflow to Inf)
// among the values, and nothing written past the packed size.
TEST(Bf16Packing, EveryTableWritesTheStatedLayout) {
  std::mt19937 rng(54);
  std::uniform_real_distribution<float> value(-3.0f, 3.0f);
  // A signalling NaN (0x7f800001) too: rounding must quieten it as to_bf16 does.
  const float special[] = {std::numeric_limits<float>::quiet_NaN(), float_of(0x7f800001),
                           -std::numeric_limits<float>::infinity(),
                           float_of(0x00000001), float_of(0x807fffff), float_of(0x3f808000),
                           float_of(0x3f818000), float_of(0x7f7fffff), -0.0f};
  const size_t specials = sizeof(special) / sizeof(special[0]);
  struct Packing {
    std::string name;
    size_t (*size)(size_t, size_t);
    void (*pack)(const float*, size_t, size_t, uint16_t*);
  };
  std::vector<Packing> packings = {{"ref panels", ref::packed_bf16_panels_size, ref::pack_bf16_panels},
                                   {"ref tiles", ref::packed_bf16_tiles_size, ref::pack_bf16_tiles}};
  for (Isa isa : {Isa::kScalar, Isa::kPortable, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni,
                  Isa::kAmx}) {
    if (!isa_supported(isa)) continue;
    const Ops& o = ops_for(isa);
    packings.push_back({isa_name(isa), o.packed_bf16_size, o.pack_bf16});
  }
#if MAUM_SIMD
  // The tile packing also where the amx table cannot run (it packs with AVX2 only).
  if (isa_supported(Isa::kAvx2))
    packings.push_back({"avx2 tiles", ref::packed_bf16_tiles_size, pack_bf16_tiles_avx2});
#endif
  for (const Packing& packing : packings) {
    for (size_t n : {size_t(1), size_t(15), size_t(16), size_t(17), size_t(40)}) {
      for (size_t k : {size_t(1), size_t(2), size_t(15), size_t(16), size_t(17), size_t(31),
                       size_t(32), size_t(33), size_t(100), size_t(768)}) {
        const size_t panels = (n + 15) / 16;
        const size_t size = packing.size(n, k);
        ASSERT_EQ(size % (panels * 32), 0u) << packing.name;
        const size_t pairs = size / (panels * 32);
        ASSERT_TRUE(pairs == (k + 1) / 2 || pairs == (k + 31) / 32 * 16)
            << packing.name << " n=" << n << " k=" << k << ": " << pairs << " pairs";
        std::vector<float> w(n * k);
        for (auto& v : w) v = value(rng);
        for (size_t i = 0; i < w.size(); i += 7) w[i] = special[(i / 7) % specials];
        std::vector<uint16_t> packed(size + 32, uint16_t(0xabcd));
        packing.pack(w.data(), n, k, packed.data());
        for (size_t p = 0; p < panels; ++p)
          for (size_t pair = 0; pair < pairs; ++pair)
            for (size_t c = 0; c < 16; ++c)
              for (size_t j = 0; j < 2; ++j) {
                const size_t row = p * 16 + c, col = 2 * pair + j;
                const uint16_t expected = row < n && col < k ? ref::to_bf16(w[row * k + col]) : 0;
                ASSERT_EQ(packed[((p * pairs + pair) * 16 + c) * 2 + j], expected)
                    << packing.name << " n=" << n << " k=" << k << " row " << row << " k " << col;
              }
        for (size_t i = size; i < packed.size(); ++i)
          ASSERT_EQ(packed[i], 0xabcd) << packing.name << " wrote past the packed size";
      }
    }
  }
}

// The AMX layout (ref::pack_bf16_tiles): each panel of the shared layout with its k pairs
// zero-padded to a multiple of 16 (whole 32-k B tiles), packable panel by panel.
TEST(Bf16Reference, TileLayoutIsThePanelLayoutPadded) {
  std::mt19937 rng(64);
  for (size_t k : {size_t(1), size_t(31), size_t(32), size_t(33), size_t(768)}) {
    const size_t n = 40, pairs = (k + 1) / 2, tile_pairs = (k + 31) / 32 * 16;
    const auto w = random_floats(n * k, rng);
    ASSERT_EQ(ref::packed_bf16_tiles_size(n, k), 3 * 16 * 2 * tile_pairs) << k;
    std::vector<uint16_t> panels(ref::packed_bf16_panels_size(n, k)),
        tiles(ref::packed_bf16_tiles_size(n, k), 0xffff), second(tiles.size(), 0xffff);
    ref::pack_bf16_panels(w.data(), n, k, panels.data());
    ref::pack_bf16_tiles(w.data(), n, k, tiles.data());
    // Panel by panel (how weights are packed at load): the first 16 columns, then the rest.
    ref::pack_bf16_tiles(w.data(), 16, k, second.data());
    ref::pack_bf16_tiles(w.data() + 16 * k, n - 16, k, second.data() + ref::packed_bf16_tiles_size(16, k));
    EXPECT_EQ(tiles, second) << k;
    for (size_t p = 0; p < 3; ++p)
      for (size_t pair = 0; pair < tile_pairs; ++pair)
        for (size_t i = 0; i < 32; ++i) {
          const uint16_t got = tiles[(p * tile_pairs + pair) * 32 + i];
          const uint16_t want = pair < pairs ? panels[(p * pairs + pair) * 32 + i] : 0;
          ASSERT_EQ(got, want) << "k=" << k << " panel " << p << " pair " << pair << " unit " << i;
        }
  }
}

class Bf16Tables : public ::testing::TestWithParam<Isa> {};

// The amx table's tdpbf16ps kernel (the only one that sums in another order than the reference).
bool sums_in_another_order(const Ops& o) {
  return std::string(o.bf16_name).find("tdpbf16ps") != std::string::npos;
}

void expect_matches_reference(const Ops& o, size_t m, size_t n, size_t k, Epilogue epi,
                              std::mt19937& rng) {
  const size_t ldx = k + 3, ldy = n + 5;
  const auto x = random_floats(m * ldx, rng, -2, 2), w = random_floats(n * k, rng),
             bias = random_floats(n, rng);
  const auto y = run_linear(o, x, ldx, w, bias.data(), m, n, k, ldy, epi, true);
  const auto yr = run_linear(ref(), x, ldx, w, bias.data(), m, n, k, ldy, epi, false);
  constexpr double u = 1.0 / 256;
  for (size_t r = 0; r < m; ++r)
    for (size_t c = 0; c < ldy; ++c) {
      const size_t at = r * ldy + c;
      if (c >= n) {
        ASSERT_EQ(y[at], 7.0f) << "wrote past column n";
        continue;
      }
      double magnitude = std::fabs(bias[c]), plain = std::fabs(bias[c]), exact = bias[c];
      for (size_t i = 0; i < k; ++i) {
        const double xi = x[r * ldx + i], wi = w[c * k + i];
        magnitude += std::fabs(double(ref::round_to_bf16(float(xi))) * ref::round_to_bf16(float(wi)));
        plain += std::fabs(xi * wi);
        exact += xi * wi;
      }
      const double order = 2e-6 * std::sqrt(double(k)) * magnitude + k * std::ldexp(1.0, -126);
      const double gelu = epi == Epilogue::kNone ? 0 : 2e-6 * (1 + std::fabs(yr[at]));
      const std::string where = std::string(isa_name(o.isa)) + " m=" + std::to_string(m) +
                                " n=" + std::to_string(n) + " k=" + std::to_string(k) + " at " +
                                std::to_string(r) + "," + std::to_string(c);
      ASSERT_NEAR(y[at], yr[at], order + gelu) << where;
      if (epi == Epilogue::kNone) {
        if (!sums_in_another_order(o)) {
          ASSERT_EQ(bits_of(y[at]), bits_of(yr[at])) << where << ": not the reference's sum";
        }
        ASSERT_NEAR(y[at], exact, (2 * u + u * u) * plain + order) << where << " vs exact";
      }
    }
  // A row's result does not depend on its batch-mates (the tile it falls in, the row chunk).
  if (m > 1) {
    std::vector<float> last(x.begin() + (m - 1) * ldx, x.end());
    const auto alone = run_linear(o, last, ldx, w, bias.data(), 1, n, k, ldy, epi, true);
    ASSERT_EQ(0, std::memcmp(alone.data(), y.data() + (m - 1) * ldy, ldy * sizeof(float)))
        << isa_name(o.isa) << " m=" << m << " n=" << n << " k=" << k;
  }
}

TEST_P(Bf16Tables, LinearAllShapes) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(60);
  // 773 > the SIMD kernels' K block (768) and 128 rows > their row chunk (48).
  for (size_t m : {size_t(1), size_t(3), size_t(17), size_t(128)})
    for (size_t n : {size_t(1), size_t(7), size_t(16), size_t(33), size_t(773)})
      for (size_t k : {size_t(1), size_t(7), size_t(16), size_t(33), size_t(773)})
        expect_matches_reference(o, m, n, k, Epilogue::kNone, rng);
}

TEST_P(Bf16Tables, LinearFusedGelu) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(61);
  for (size_t m : {size_t(1), size_t(17)})
    for (size_t n : {size_t(33), size_t(773)}) {
      expect_matches_reference(o, m, n, 64, Epilogue::kGeluErf, rng);
      expect_matches_reference(o, m, n, 31, Epilogue::kGeluTanh, rng);
    }
}

TEST_P(Bf16Tables, EmptyKGivesBias) {
  const Ops& o = ops_for(GetParam());
  const std::vector<float> x(3), w, bias = {0.5f, -1.0f};
  const auto y = run_linear(o, x, 1, w, bias.data(), 3, 2, 0, 2, Epilogue::kNone, false);
  for (size_t r = 0; r < 3; ++r) {
    EXPECT_EQ(y[2 * r], 0.5f);
    EXPECT_EQ(y[2 * r + 1], -1.0f);
  }
}

// Identity weights: y = bf16(x) exactly, on values that exercise every branch of the rule.
TEST_P(Bf16Tables, RoundsActivationsByTheRule) {
  const Ops& o = ops_for(GetParam());
  const size_t k = 37, m = 5;
  std::mt19937 rng(62);
  std::uniform_int_distribution<uint32_t> any_bits(0, 0xffffffffu);
  std::vector<float> x(m * k), w(k * k, 0.0f);
  for (size_t i = 0; i < k; ++i) w[i * k + i] = 1.0f;
  for (auto& v : x) {
    // Values whose bf16 is finite (an infinite x̂ would make x̂·0 a NaN in the other columns):
    // exponents up to 2^126; every 4th one a tie or a subnormal.
    uint32_t b = any_bits(rng);
    if ((b & 0x7f000000u) == 0x7f000000u) b &= 0xbfffffffu;
    v = float_of(b);
  }
  for (size_t i = 0; i < x.size(); i += 4) {
    const uint32_t sign = (i / 4) % 2 ? 0x80000000u : 0;
    x[i] = float_of(sign | ((i / 8) % 2 ? 0x00012345u : (0x3f808000u + (uint32_t(i) << 16))));
  }
  const auto y = run_linear(o, x, k, w, nullptr, m, k, k, k, Epilogue::kNone, true);
  for (size_t i = 0; i < x.size(); ++i)
    ASSERT_EQ(y[i], ref::round_to_bf16(x[i]))
        << isa_name(o.isa) << " x bits " << std::hex << bits_of(x[i]) << " gave bits "
        << bits_of(y[i]);
}

// The vdpbf16ps kernel is in the avx512 tables only where the CPU has AVX512_BF16; the tests above
// then run it. Where it cannot run, say so rather than pass silently.
TEST(Bf16Gemm, VdpBf16PsKernelWhereTheCpuHasIt) {
  if (!cpu_features().avx512bf16 || !isa_supported(Isa::kAvx512))
    GTEST_SKIP() << "this CPU has no AVX512_BF16 (cpuid leaf 7 subleaf 1 eax bit 5): the vdpbf16ps "
                    "linear_bf16 (x86/bf16_gemm.cpp) is compiled but cannot be tested here";
  for (Isa isa : {Isa::kAvx512, Isa::kAvx512Vnni}) {
    if (isa_supported(isa)) {
      EXPECT_NE(std::string(ops_for(isa).bf16_name).find("vdpbf16ps"), std::string::npos)
          << isa_name(isa);
    }
  }
}

// The amx table's linear_bf16 (tdpbf16ps) around its tile edges: rows 1, 15, 17, 33 (a partial
// row tile; one whole and one of 1 row; a whole 32-row block and 1 row under a second tile
// configuration), columns 1, 15, 17, 40 (partial panels, 2.5 panels), k 1, 31, 33, 768 (k padded
// to whole 32-k tiles: 1 and 31 in one, 33 in two, BERT's 24 whole ones), against the reference
// under the budget above, with and without the fused GELU.
TEST(AmxBf16, MatchesReferenceAroundTileEdges) {
  if (!isa_supported(Isa::kAmx))
    GTEST_SKIP() << "the amx table cannot run here: "
                 << (amx_status().usable ? "no avx512vnni table" : amx_status().reason);
  if (!amx_status().bf16)
    GTEST_SKIP() << "AMX is usable but this CPU has no AMX-BF16 (cpuid leaf 7 edx bit 22): the amx "
                    "table runs the avx512vnni table's linear_bf16";
  const Ops& amx = ops_for(Isa::kAmx);
  ASSERT_TRUE(sums_in_another_order(amx)) << amx.bf16_name;
  EXPECT_EQ(amx.packed_bf16_size(17, 33), 32u * 64);  // 2 panels x 32 pairs x 16 columns x 2
  std::mt19937 rng(63);
  for (size_t m : {size_t(1), size_t(15), size_t(17), size_t(33)})
    for (size_t n : {size_t(1), size_t(15), size_t(17), size_t(40)})
      for (size_t k : {size_t(1), size_t(31), size_t(33), size_t(768)}) {
        expect_matches_reference(amx, m, n, k, Epilogue::kNone, rng);
        expect_matches_reference(amx, m, n, k, Epilogue::kGeluErf, rng);
      }
  // More rows than one rounded chunk (128) and k = 0 (y = bias).
  expect_matches_reference(amx, 161, 40, 64, Epilogue::kGeluTanh, rng);
  expect_matches_reference(amx, 3, 17, 0, Epilogue::kNone, rng);
}

// The amx table takes each AMX kernel only where its own cpuid bit is set.
TEST(AmxBf16, OnlyWhereTheCpuHasIt) {
  if (!isa_supported(Isa::kAmx))
    GTEST_SKIP() << "the amx table cannot run here: "
                 << (amx_status().usable ? "no avx512vnni table" : amx_status().reason);
  const Ops& amx = ops_for(Isa::kAmx);
  EXPECT_EQ(sums_in_another_order(amx), cpu_features().amx_bf16) << amx.bf16_name;
  EXPECT_EQ(amx_status().bf16, cpu_features().amx_bf16);
  EXPECT_EQ(amx_status().int8, cpu_features().amx_int8);
  if (!amx_status().bf16) {
    EXPECT_STREQ(amx.bf16_name, ops_for(Isa::kAvx512Vnni).bf16_name);
  }
}

INSTANTIATE_TEST_SUITE_P(SupportedIsas, Bf16Tables, ::testing::ValuesIn(simd_isas()),
                         [](const ::testing::TestParamInfo<Isa>& info) {
                           return std::string(isa_name(info.param));
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(Bf16Tables);

}  // namespace
}  // namespace maum::kernels

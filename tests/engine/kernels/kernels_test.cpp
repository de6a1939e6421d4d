// Kernel tests. Every SIMD table (each ISA this CPU supports, picked with ops_for, and the portable
// Eigen table, which every build and CPU has) is compared with
// the scalar reference ops_for(kScalar) on random data with odd sizes, under the error budgets
// stated next to each check; the reference itself is checked against math we can state.
//
// Error budgets (float32 everywhere, eps = 2^-24 ≈ 6e-8):
//  - fp32 GEMM / linear: |y - y_ref| <= 2e-6·sqrt(k)·(Σ_k |x_k·w_nk| + |b_n|) — a summation-order
//    bound (the reference uses 8 lanes, the SIMD kernels 1 accumulator per k-chain + FMA).
//  - GELU (erf and tanh): |Δ| <= 2e-6·(1 + |x|) vs the double-precision reference.
//  - softmax: |Δ| <= 1e-6 + 1e-5·p.  LayerNorm: |Δ| <= 2e-5·(1 + |y|).
//  - int8: quantize_rows_u8 bit-identical (q and scale); the int32 accumulation is exact, checked
//    as bit equality of y with unit scales and no bias; with real scales |Δ| <= 1e-6·|y| + 1e-6.
//  - attention: |Δ| <= 1e-5·(1 + |out|); the one-query attention (the last layer's [CLS]) too.
//  - relu, tanh: identical to the reference (every table uses it; checked so that a SIMD version
//    added later is held to |Δ| <= 0 for relu and 2e-7·(1 + |x|) for tanh).
//  - bf16 attention (int8 models, CPUs with AVX512_BF16), with m_d = Σ_j p_j·|v_jd| (the output's
//    magnitude) and u = 2^-8 (bf16's unit roundoff): against the bf16-rounding reference
//    |Δ| <= 1e-5·(1 + |out|) + 2u·m_d (the fp32 scores differ from the reference's only in summation
//    order, but that can move a probability across a bf16 rounding boundary: one ulp of p_j);
//    against the fp32 reference, the first-order rounding bound |Δ| <= m_d·(2·δs + 3u) + 1e-6 with
//    δs = max_j 2u·scale·Σ_d |q_d·k_jd| the largest score error of the row (a score error δ moves
//    every p_j by at most 2δ relatively; rounding p and v adds 2u).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/kernels/kernels.h"
#include "engine/kernels/table.h"
#include "maum/error.h"
#include "maum/runtime.h"
#include "tests/engine/kernels/kernel_test_util.h"

namespace maum::kernels {
namespace {

// Sets (or, with null, unsets) an environment variable for a scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    const char* old = std::getenv(name);
    had_ = old != nullptr;
    if (had_) old_ = old;
    if (value) setenv(name, value, 1); else unsetenv(name);
  }
  ~ScopedEnv() {
    if (had_) setenv(name_, old_.c_str(), 1); else unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  bool had_ = false;
  std::string old_;
};

const size_t kRows[] = {1, 3, 17, 128};
const size_t kDims[] = {1, 7, 16, 33, 773};

// ---------- the reference against hand-computable math ----------

TEST(ScalarReference, Gelu) {
  std::vector<float> x = {0.0f, 10.0f, -10.0f, 1.0f};
  ref().gelu_erf(x.data(), x.size());
  EXPECT_EQ(x[0], 0.0f);
  EXPECT_NEAR(x[1], 10.0f, 1e-6f);  // Φ(10) = 1 - 7.6e-24
  EXPECT_NEAR(x[2], 0.0f, 1e-6f);
  EXPECT_NEAR(x[3], 0.8413447460685429f, 1e-7f);  // Φ(1)
  std::vector<float> t = {0.0f, 10.0f, -10.0f, 1.0f};
  ref().gelu_tanh(t.data(), t.size());
  EXPECT_EQ(t[0], 0.0f);
  EXPECT_NEAR(t[1], 10.0f, 1e-6f);
  EXPECT_NEAR(t[2], 0.0f, 1e-6f);
  EXPECT_NEAR(t[3], 0.5 * (1 + std::tanh(0.7978845608 * (1 + 0.044715))), 1e-7);
}

TEST(ScalarReference, SoftmaxSumsToOneAndIsShiftInvariant) {
  std::vector<float> x = {1.0f, 2.0f, 3.0f, 1000.0f};
  ref().softmax(x.data(), x.size());
  EXPECT_NEAR(x[3], 1.0f, 1e-6f);
  std::vector<float> y = {0.0f, std::log(3.0f)};
  ref().softmax(y.data(), y.size());
  EXPECT_NEAR(y[0], 0.25f, 1e-7f);
  EXPECT_NEAR(y[1], 0.75f, 1e-7f);
  std::mt19937 rng(1);
  auto r = random_floats(33, rng, -20, 20);
  ref().softmax(r.data(), r.size());
  double sum = 0;
  for (float p : r) sum += p;
  EXPECT_NEAR(sum, 1.0, 1e-6);
}

TEST(ScalarReference, LayerNormOfKnownVector) {
  // x + residual = {1, 2, 3, 4}: mean 2.5, variance 1.25.
  std::vector<float> x = {0, 1, 2, 3}, res = {1, 1, 1, 1}, gamma = {1, 2, 1, 1}, beta = {0, 0, 0, 5};
  ref().add_layernorm(x.data(), res.data(), gamma.data(), beta.data(), 1, 4, 0.0f);
  const float s = 1.0f / std::sqrt(1.25f);
  EXPECT_NEAR(x[0], -1.5f * s, 1e-6f);
  EXPECT_NEAR(x[1], -0.5f * s * 2, 1e-6f);
  EXPECT_NEAR(x[2], 0.5f * s, 1e-6f);
  EXPECT_NEAR(x[3], 1.5f * s + 5, 1e-6f);
}

TEST(ScalarReference, QuantizeKnownRow) {
  // max |x| = 2 -> scale 2/127; x * 63.5: 1 -> 63.5 -> 64 (half to even), -2 -> -127,
  // 0.5 -> 31.75 -> 32, 1/127 -> 0.5 -> 0 (half to even), 3/127 -> 1.5 -> 2.
  std::vector<float> x = {1.0f, -2.0f, 0.5f, 1.0f / 127.0f, 3.0f / 127.0f, 0.0f};
  std::vector<uint8_t> q(x.size());
  float scale = 0;
  ref().quantize_rows_u8(x.data(), x.size(), q.data(), q.size(), &scale, 1, x.size());
  EXPECT_FLOAT_EQ(scale, 2.0f / 127.0f);
  EXPECT_EQ(q, (std::vector<uint8_t>{128 + 64, 1, 128 + 32, 128, 130, 128}));
  // An all-zero row quantizes to the zero point with scale 0.
  std::vector<float> zero(5, 0.0f);
  ref().quantize_rows_u8(zero.data(), 5, q.data(), 5, &scale, 1, 5);
  EXPECT_EQ(scale, 0.0f);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(q[i], 128);
}

TEST(ScalarReference, GemmAndInt8OfKnownMatrices) {
  // x = [[1, 2], [3, 4]], w = [[1, 0], [1, -1], [2, 1]], bias = {0.5, 0, -1}
  std::vector<float> x = {1, 2, 3, 4}, w = {1, 0, 1, -1, 2, 1}, bias = {0.5f, 0, -1}, y(6);
  ref().gemm_f32(x.data(), 2, w.data(), bias.data(), y.data(), 3, 2, 3, 2);
  EXPECT_EQ(y, (std::vector<float>{1.5f, -1, 3, 3.5f, -1, 9}));
  // int8: q = {129, 255, 1} (x = {1, 127, -127}), w = {{1, -1, 2}}: sum q·w - 128·row_sum
  // = (129 - 255 + 2) - 128·2 = -380 = Σ x·w = 1 - 127 - 254.
  std::vector<uint8_t> q = {129, 255, 1};
  std::vector<int8_t> wq = {1, -1, 2};
  int32_t row_sum = 2;
  float ws = 1.0f, xs = 0.5f, out = 0;
  QuantizedWeights qw;
  qw.data = wq.data(); qw.scale = &ws; qw.row_sum = &row_sum; qw.n = 1; qw.k = 3;
  ref().gemm_u8s8(q.data(), 3, &xs, qw, nullptr, &out, 1, 1);
  EXPECT_EQ(out, -190.0f);
}

TEST(ScalarReference, AttentionOfKnownHead) {
  // Two tokens, head_dim 1: q = k = {0, 0} gives uniform weights, out = mean of v.
  std::vector<float> q = {0, 0}, k = {0, 0}, v = {1, 3}, out(2);
  std::vector<float> scratch(attention_scratch_floats(2, 1));
  ref().attention_head(q.data(), k.data(), v.data(), 1, 2, 1, 1.0f, out.data(), 1, scratch.data());
  EXPECT_NEAR(out[0], 2.0f, 1e-6f);
  EXPECT_NEAR(out[1], 2.0f, 1e-6f);
}

// ---------- dispatch ----------

TEST(Dispatch, BogusIsaThrowsInvalidArgument) {
  const char* saved = std::getenv("MAUM_ISA");
  std::string saved_value = saved ? saved : "";
  setenv("MAUM_ISA", "bogus", 1);
  EXPECT_THROW(selected_isa(), InvalidArgument);
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAmx}) {
    if (!isa_supported(isa)) {
      setenv("MAUM_ISA", isa_name(isa), 1);
      EXPECT_THROW(selected_isa(), InvalidArgument) << isa_name(isa);
      EXPECT_THROW(ops_for(isa), InvalidArgument);
    } else {
      setenv("MAUM_ISA", isa_name(isa), 1);
      EXPECT_EQ(selected_isa(), isa);
    }
  }
  setenv("MAUM_ISA", "portable", 1);
  EXPECT_EQ(selected_isa(), Isa::kPortable);
  setenv("MAUM_ISA", "scalar", 1);
  EXPECT_EQ(selected_isa(), Isa::kScalar);
  if (saved) setenv("MAUM_ISA", saved_value.c_str(), 1); else unsetenv("MAUM_ISA");
}

TEST(Dispatch, TablesAreFullyPopulatedAndRuntimeInfoNamesTheIsa) {
  EXPECT_TRUE(isa_supported(Isa::kPortable));
  for (Isa isa : {Isa::kScalar, Isa::kPortable, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni,
                  Isa::kAmx}) {
    if (!isa_supported(isa)) continue;
    const Ops& o = ops_for(isa);
    EXPECT_EQ(o.isa, isa);
    EXPECT_TRUE(o.gemm_f32 && o.gelu_erf && o.gelu_tanh && o.add_layernorm && o.softmax &&
                o.quantize_rows_u8 && o.gemm_u8s8 && o.packed_f32_size && o.pack_f32 &&
                o.packed_u8s8_size && o.pack_u8s8 && o.s8_row_stats && o.linear_f32 &&
                o.linear_u8s8 && o.attention_head)
        << isa_name(isa);
  }
  const std::string info = maum::runtime_info();
  EXPECT_NE(info.find(isa_name(ops().isa)), std::string::npos) << info;
  EXPECT_NE(info.find(isa_name(best_isa())), std::string::npos) << info;
}

// Ops::s8_row_stats in every table this CPU runs, the reference included: each row's sum and the
// largest |w| exactly as integer math states them (int64 here), over lengths around the SIMD
// widths, and rows whose extremes (-128 first, 127 last, a lone -128 in a tail) sit where a
// vector body or a scalar tail reads them.
TEST(S8RowStats, ExactSumsAndLargestMagnitudeInEveryTable) {
  std::mt19937 rng(51);
  std::uniform_int_distribution<int> byte(-128, 127), small(-3, 3);
  for (Isa isa : {Isa::kScalar, Isa::kPortable, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni,
                  Isa::kAmx}) {
    if (!isa_supported(isa)) continue;
    const Ops& o = ops_for(isa);
    for (size_t n : {size_t(0), size_t(1), size_t(3), size_t(17)}) {
      for (size_t k : {size_t(0), size_t(1), size_t(31), size_t(32), size_t(33), size_t(64),
                       size_t(95), size_t(768), size_t(3077)}) {
        for (int pattern = 0; pattern < 4; ++pattern) {
          std::vector<int8_t> w(n * k);
          for (auto& v : w) v = static_cast<int8_t>(pattern == 3 ? small(rng) : byte(rng));
          if (pattern == 1) std::fill(w.begin(), w.end(), int8_t(-128));  // the most negative sums
          if (pattern == 2) std::fill(w.begin(), w.end(), int8_t(127));
          // pattern 3: |w| <= 3, then one -128 in the last row's last byte (a tail unless k % 32 == 0).
          if (pattern == 3 && !w.empty()) w.back() = -128;
          std::vector<int32_t> sums(n + 1, 12345);
          const unsigned largest = o.s8_row_stats(w.data(), n, k, sums.data());
          unsigned expected_largest = 0;
          for (size_t r = 0; r < n; ++r) {
            int64_t sum = 0;
            for (size_t i = 0; i < k; ++i) {
              const int v = w[r * k + i];
              sum += v;
              expected_largest = std::max(expected_largest, static_cast<unsigned>(std::abs(v)));
            }
            ASSERT_EQ(sums[r], sum) << isa_name(isa) << " n=" << n << " k=" << k << " row " << r
                                    << " pattern " << pattern;
          }
          ASSERT_EQ(sums[n], 12345) << "wrote past the last row";
          ASSERT_EQ(largest, expected_largest)
              << isa_name(isa) << " n=" << n << " k=" << k << " pattern " << pattern;
        }
      }
    }
  }
}

// Every table's int8 packing writes the layout kernels.h states, byte for byte: panel p of 16
// columns, then k in groups of 4, [n/16][k_pad/4][16][4], zero past n and past k, k_pad a
// multiple of 4 (64 for the amx table's tiles); the reference packings too. Around the SIMD
// packing's blocks of 16 rows x 32 k, and nothing written past the packed size.
TEST(U8s8Packing, EveryTableWritesTheStatedLayout) {
  std::mt19937 rng(52);
  std::uniform_int_distribution<int> byte(-128, 127);
  struct Packing {
    std::string name;
    size_t (*size)(size_t, size_t);
    void (*pack)(const int8_t*, size_t, size_t, int8_t*);
    size_t k_multiple;
  };
  std::vector<Packing> packings = {
      {"ref panels", ref::packed_u8s8_panels_size, ref::pack_u8s8_panels, 4},
      {"ref tiles", ref::packed_u8s8_tiles_size, ref::pack_u8s8_tiles, 64}};
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAmx}) {
    if (!isa_supported(isa)) continue;
    const Ops& o = ops_for(isa);
    packings.push_back({isa_name(isa), o.packed_u8s8_size, o.pack_u8s8,
                        o.packed_u8s8_size(16, 1) == 16 * 64 ? size_t(64) : size_t(4)});
  }
#if MAUM_SIMD
  // The tile packing also where the amx table cannot run (it packs with AVX2 only).
  if (isa_supported(Isa::kAvx2))
    packings.push_back({"avx2 tiles", ref::packed_u8s8_tiles_size, pack_u8s8_tiles_avx2, 64});
#endif
  for (const Packing& packing : packings) {
    for (size_t n : {size_t(1), size_t(15), size_t(16), size_t(17), size_t(48), size_t(70)}) {
      for (size_t k : {size_t(1), size_t(3), size_t(4), size_t(31), size_t(32), size_t(33),
                       size_t(64), size_t(65), size_t(100), size_t(768)}) {
        const size_t k_pad = (k + packing.k_multiple - 1) / packing.k_multiple * packing.k_multiple;
        const size_t panels = (n + 15) / 16;
        ASSERT_EQ(packing.size(n, k), panels * 16 * k_pad) << packing.name << " n=" << n << " k=" << k;
        std::vector<int8_t> w(n * k);
        for (auto& v : w) v = static_cast<int8_t>(byte(rng));
        std::vector<int8_t> packed(packing.size(n, k) + 64, int8_t(99));
        packing.pack(w.data(), n, k, packed.data());
        for (size_t p = 0; p < panels; ++p)
          for (size_t g = 0; g < k_pad / 4; ++g)
            for (size_t c = 0; c < 16; ++c)
              for (size_t j = 0; j < 4; ++j) {
                const size_t row = p * 16 + c, col = g * 4 + j;
                const int8_t expected = row < n && col < k ? w[row * k + col] : int8_t(0);
                ASSERT_EQ(packed[((p * (k_pad / 4) + g) * 16 + c) * 4 + j], expected)
                    << packing.name << " n=" << n << " k=" << k << " row " << row << " k " << col;
              }
        for (size_t i = packing.size(n, k); i < packed.size(); ++i)
          ASSERT_EQ(packed[i], 99) << packing.name << " wrote past the packed size";
      }
    }
  }
}

// Likewise the fp32 packing: [n/16][k][16], zero past n, in every table that packs (around the
// SIMD packing's 8 x 8 blocks), bit for bit, and nothing written past the packed size.
TEST(F32Packing, EveryTableWritesTheStatedLayout) {
  std::mt19937 rng(53);
  std::uniform_real_distribution<float> value(-2.0f, 2.0f);
  for (Isa isa : {Isa::kScalar, Isa::kPortable, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni,
                  Isa::kAmx}) {
    if (!isa_supported(isa)) continue;
    const Ops& o = ops_for(isa);
    if (o.packed_f32_size(16, 8) == 0) continue;  // this table reads w as it is
    for (size_t n : {size_t(1), size_t(8), size_t(15), size_t(16), size_t(17), size_t(40)}) {
      for (size_t k : {size_t(1), size_t(7), size_t(8), size_t(9), size_t(16), size_t(23),
                       size_t(768)}) {
        const size_t panels = (n + 15) / 16;
        ASSERT_EQ(o.packed_f32_size(n, k), panels * 16 * k) << isa_name(isa);
        std::vector<float> w(n * k);
        for (auto& v : w) v = value(rng);
        std::vector<float> packed(o.packed_f32_size(n, k) + 16, 99.0f);
        o.pack_f32(w.data(), n, k, packed.data());
        for (size_t p = 0; p < panels; ++p)
          for (size_t i = 0; i < k; ++i)
            for (size_t c = 0; c < 16; ++c) {
              const size_t row = p * 16 + c;
              const float expected = row < n ? w[row * k + i] : 0.0f;
              const float got = packed[(p * k + i) * 16 + c];
              ASSERT_EQ(std::memcmp(&got, &expected, sizeof(float)), 0)
                  << isa_name(isa) << " n=" << n << " k=" << k << " row " << row << " k " << i;
            }
        for (size_t i = o.packed_f32_size(n, k); i < packed.size(); ++i)
          ASSERT_EQ(packed[i], 99.0f) << isa_name(isa) << " wrote past the packed size";
      }
    }
  }
  // The reference packing, which the scalar table does not use, against the same layout.
  std::vector<float> w(17 * 9), packed(ref::packed_f32_panels_size(17, 9));
  for (auto& v : w) v = value(rng);
  ref::pack_f32_panels(w.data(), 17, 9, packed.data());
  for (size_t row = 0; row < 32; ++row)
    for (size_t i = 0; i < 9; ++i)
      ASSERT_EQ(packed[((row / 16) * 9 + i) * 16 + row % 16], row < 17 ? w[row * 9 + i] : 0.0f);
}

// MAUM_ISA=amx where AMX cannot run is an InvalidArgument that says why (no AMX on this CPU, the
// OS does not enable tile state, or the kernel refused the tile data permission), and nothing
// picks the amx table by itself.
TEST(Dispatch, AmxUnusableIsAClearError) {
  const AmxStatus& amx = amx_status();
  const CpuFeatures& f = cpu_features();
  ASSERT_FALSE(amx.reason.empty());
  if (!MAUM_SIMD) {
    EXPECT_EQ(amx.reason, "built without the x86 kernels: MAUM_SIMD=OFF");
  } else if (!f.amx_tile || (!f.amx_int8 && !f.amx_bf16)) {
    EXPECT_FALSE(amx.usable);
    EXPECT_NE(amx.reason.find("no AMX on this CPU"), std::string::npos) << amx.reason;
  } else if (!f.os_tile_state) {
    EXPECT_FALSE(amx.usable);
    EXPECT_NE(amx.reason.find("OS does not enable tile state"), std::string::npos) << amx.reason;
  }
  EXPECT_EQ(amx.usable, amx.reason == "usable") << amx.reason;
  if (isa_supported(Isa::kAmx)) {
    EXPECT_EQ(best_isa(), Isa::kAmx);
    GTEST_SKIP() << "AMX is usable on this machine: there is no refusal to check";
  }
  EXPECT_NE(best_isa(), Isa::kAmx);
  ScopedEnv isa("MAUM_ISA", "amx");
  try {
    selected_isa();
    ADD_FAILURE() << "MAUM_ISA=amx accepted on a machine that cannot run it";
  } catch (const InvalidArgument& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("MAUM_ISA=amx: this CPU cannot run amx"), std::string::npos) << message;
    EXPECT_NE(message.find(amx.usable ? std::string("avx512vnni") : amx.reason), std::string::npos)
        << message;
  }
  EXPECT_THROW(ops_for(Isa::kAmx), InvalidArgument);
}

// The per-CPU choice of attention kernel for int8 models (engine/kernels/choices.cpp), on fixed
// CPUs: the measured ones, an unlisted one, one without AVX512_BF16, and MAUM_ATTENTION.
TEST(Choices, Bf16AttentionByCpuAndOverride) {
  Ops with_bf16;
  with_bf16.isa = Isa::kAvx512Vnni;
  with_bf16.attention_head_bf16 = ref::attention_head_bf16;
  Ops without_bf16;
  without_bf16.isa = Isa::kAvx2;
  Ops portable;
  portable.isa = Isa::kPortable;
  auto cpu = [](bool amd, unsigned family, unsigned model, bool bf16) {
    CpuFeatures f;
    f.amd = amd;
    f.intel = !amd;
    f.family = family;
    f.model = model;
    f.avx512bf16 = bf16;
    return f;
  };
  struct Case {
    const char* name;
    CpuFeatures cpu;
    bool on;
    const char* reason;
  };
  const Case cases[] = {
      {"Emerald Rapids", cpu(false, 6, 207, true), false, "Intel family 6 model 207 (Emerald Rapids) measured slower"},
      {"Sapphire Rapids", cpu(false, 6, 143, true), false, "Intel family 6 model 143"},
      {"Zen 4 EPYC", cpu(true, 25, 17, true), true, "AMD family 25 model 17 (Zen 4) measured faster"},
      {"Zen 4 Phoenix", cpu(true, 25, 0x74, true), true, "(Zen 4)"},
      {"Zen 4c Bergamo", cpu(true, 25, 0xa0, true), true, "(Zen 4)"},
      {"Zen 5", cpu(true, 26, 2, true), true, "(Zen 5)"},
      {"Granite Rapids (not measured)", cpu(false, 6, 173, true), true, "not measured"},
      {"Zen 3", cpu(true, 25, 1, false), false, "CPU lacks AVX512_BF16"},
      {"Emerald Rapids without the flag", cpu(false, 6, 207, false), false, "CPU lacks AVX512_BF16"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    for (const char* unset : {static_cast<const char*>(nullptr), ""}) {
      const Choice choice = choose_bf16_attention(c.cpu, with_bf16, unset);
      EXPECT_EQ(choice.on, c.on);
      EXPECT_NE(choice.reason.find(c.reason), std::string::npos) << choice.reason;
    }
  }
  const CpuFeatures zen4 = cpu(true, 25, 17, true), emr = cpu(false, 6, 207, true),
                    zen3 = cpu(true, 25, 1, false);
  // A table without the kernel (MAUM_ISA=avx2 on a bf16 CPU): off, and says which table.
  Choice c = choose_bf16_attention(zen4, without_bf16, nullptr);
  EXPECT_FALSE(c.on);
  EXPECT_NE(c.reason.find("avx2 table has no bf16 attention"), std::string::npos) << c.reason;
  // MAUM_ATTENTION overrides the table of CPUs, both ways.
  c = choose_bf16_attention(zen4, with_bf16, "fp32");
  EXPECT_FALSE(c.on);
  EXPECT_EQ(c.reason, "MAUM_ATTENTION=fp32");
  c = choose_bf16_attention(emr, with_bf16, "bf16");
  EXPECT_TRUE(c.on);
  EXPECT_EQ(c.reason, "MAUM_ATTENTION=bf16");
  EXPECT_FALSE(choose_bf16_attention(zen3, without_bf16, "fp32").on);
  // The portable and scalar tables (all a MAUM_SIMD=OFF build has, which reads no cpuid) speak of
  // themselves, not of the CPU.
  c = choose_bf16_attention(CpuFeatures{}, portable, nullptr);
  EXPECT_FALSE(c.on);
  EXPECT_EQ(c.reason, "the portable table has no bf16 attention (AVX-512 tables only)");
  // What cannot be honoured is an error, not a silent fallback.
  EXPECT_THROW(choose_bf16_attention(zen3, with_bf16, "bf16"), InvalidArgument);
  EXPECT_THROW(choose_bf16_attention(zen4, without_bf16, "bf16"), InvalidArgument);
  EXPECT_THROW(choose_bf16_attention(zen4, with_bf16, "fp16"), InvalidArgument);
}

// The engine's table carries the choice: bf16 attention only where it is on; ops_for keeps the
// kernel for the tests and bench_kernels. `maum --version --verbose`'s lines name both choices.
TEST(Choices, EngineTableFollowsTheChoice) {
  const Choice& choice = bf16_attention_choice();
  EXPECT_FALSE(choice.reason.empty());
  EXPECT_EQ(ops().attention_head_bf16 != nullptr, choice.on) << choice.reason;
  EXPECT_TRUE(cpu_features().avx512bf16 || !choice.on);
  EXPECT_EQ(ops_for(ops().isa).attention_head_bf16 != nullptr,
            cpu_features().avx512bf16 && (ops().isa == Isa::kAvx512 ||
                                          ops().isa == Isa::kAvx512Vnni || ops().isa == Isa::kAmx));
  const std::string lines = maum::runtime_choices();
  EXPECT_NE(lines.find("amx: " + std::string(amx_status().usable ? "usable" : "not usable — " +
                                                                   amx_status().reason)),
            std::string::npos)
      << lines;
  EXPECT_NE(lines.find(std::string("int8 linear layers run the ") + isa_name(ops().isa) + " table"),
            std::string::npos)
      << lines;
  EXPECT_NE(lines.find(std::string("bf16 attention (int8 models): ") + (choice.on ? "on" : "off") +
                       " — " + choice.reason),
            std::string::npos)
      << lines;
}

// The AMX weight layout is the u8s8 panel layout of the weights zero-padded to a multiple of 64
// k, and separable by panels like it (the loader packs a slab of rows at a time).
TEST(ScalarReference, TilePackingIsThePanelLayoutPaddedTo64) {
  std::mt19937 rng(53);
  std::uniform_int_distribution<int> s8(-127, 127);
  for (size_t n : {size_t(1), size_t(17), size_t(40)})
    for (size_t k : {size_t(1), size_t(3), size_t(63), size_t(64), size_t(65)}) {
      const size_t k64 = (k + 63) / 64 * 64;
      std::vector<int8_t> w(n * k), padded(n * k64, 0);
      for (size_t r = 0; r < n; ++r)
        for (size_t i = 0; i < k; ++i) padded[r * k64 + i] = w[r * k + i] = static_cast<int8_t>(s8(rng));
      const size_t size = ref::packed_u8s8_tiles_size(n, k);
      ASSERT_EQ(size, ref::packed_u8s8_panels_size(n, k64));
      ASSERT_EQ(size, (n + 15) / 16 * 16 * k64);
      std::vector<int8_t> tiles(size, 9), panels(size, 7);
      ref::pack_u8s8_tiles(w.data(), n, k, tiles.data());
      ref::pack_u8s8_panels(padded.data(), n, k64, panels.data());
      EXPECT_EQ(tiles, panels) << "n=" << n << " k=" << k;
      if (n > kPackPanel) {
        std::vector<int8_t> slab(ref::packed_u8s8_tiles_size(n - kPackPanel, k), 5);
        ref::pack_u8s8_tiles(w.data() + kPackPanel * k, n - kPackPanel, k, slab.data());
        const size_t at = ref::packed_u8s8_tiles_size(kPackPanel, k);
        EXPECT_TRUE(std::equal(slab.begin(), slab.end(), tiles.begin() + at)) << "n=" << n << " k=" << k;
      }
    }
}

TEST(ScalarReference, Bf16RoundingIsNearestEven) {
  // bf16 keeps 8 significant bits: the ulp at 1 is 2^-7, so 1 + 2^-8 is a tie.
  EXPECT_EQ(ref::round_to_bf16(1.0f), 1.0f);
  EXPECT_EQ(ref::round_to_bf16(1.0f + std::ldexp(1.0f, -8)), 1.0f);  // tie -> even (down)
  EXPECT_EQ(ref::round_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 1.0f + std::ldexp(1.0f, -6));  // tie -> even (up)
  EXPECT_EQ(ref::round_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)),
            1.0f + std::ldexp(1.0f, -7));
  EXPECT_EQ(ref::round_to_bf16(-3.0f), -3.0f);
  EXPECT_TRUE(std::isnan(ref::round_to_bf16(std::nanf(""))));
}

// ---------- each SIMD table against the reference ----------

class SimdVsRef : public ::testing::TestWithParam<Isa> {};

// pack: give the table its packed copy of the weights (as the engine does), or leave them in place
// (LoadOptions::pack_weights = false: x86::linear_f32_rows on the SIMD tables).
void expect_linear_f32_matches(const Ops& o, size_t m, size_t n, size_t k, Epilogue epi,
                               std::mt19937& rng, bool pack = true) {
  const size_t ldx = k + 3, ldy = n + 5;
  auto x = random_floats(m * ldx, rng);
  auto w = random_floats(n * k, rng);
  auto bias = random_floats(n, rng);
  LinearF32 lw;
  lw.w = w.data(); lw.bias = bias.data(); lw.n = n; lw.k = k;
  Aligned<float> packed(o.packed_f32_size(n, k) + 1);
  if (pack && o.packed_f32_size(n, k) > 0) {
    o.pack_f32(w.data(), n, k, packed.ptr);
    lw.packed = packed.ptr;
  }
  std::vector<float> y(m * ldy, 7.0f), yr(m * ldy, 7.0f);
  // Two column ranges, split at a panel boundary when there is one.
  const size_t split = n > kPackPanel ? kPackPanel : n;
  o.linear_f32(x.data(), ldx, lw, y.data(), ldy, m, 0, split, epi);
  o.linear_f32(x.data(), ldx, lw, y.data(), ldy, m, split, n, epi);
  LinearF32 plain = lw;
  plain.packed = nullptr;
  ref().linear_f32(x.data(), ldx, plain, yr.data(), ldy, m, 0, n, epi);
  for (size_t r = 0; r < m; ++r) {
    for (size_t c = 0; c < ldy; ++c) {
      if (c >= n) {  // padding columns untouched
        ASSERT_EQ(y[r * ldy + c], 7.0f);
        continue;
      }
      double mag = std::fabs(bias[c]);
      for (size_t i = 0; i < k; ++i) mag += std::fabs(x[r * ldx + i] * w[c * k + i]);
      const double budget = 2e-6 * std::sqrt(double(k)) * mag * 1.2 + 2e-6 * (1 + std::fabs(yr[r * ldy + c]));
      ASSERT_NEAR(y[r * ldy + c], yr[r * ldy + c], budget)
          << isa_name(o.isa) << " m=" << m << " n=" << n << " k=" << k << " at " << r << "," << c;
    }
  }
}

TEST_P(SimdVsRef, LinearF32AllShapes) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(42);
  for (size_t m : kRows)
    for (size_t n : kDims)
      for (size_t k : kDims) expect_linear_f32_matches(o, m, n, k, Epilogue::kNone, rng);
}

// Long inputs: tables that cut the rows into chunks (x86/vec_f32_packed.h: at most 128 rows of a
// 768-k block) give every row, the last chunk's too, the reference's result.
TEST_P(SimdVsRef, LinearF32LongInputs) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(45);
  expect_linear_f32_matches(o, 300, 40, 800, Epilogue::kNone, rng);
  expect_linear_f32_matches(o, 257, 17, 64, Epilogue::kGeluErf, rng);
}

TEST_P(SimdVsRef, LinearF32UnpackedWeights) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(46);
  for (size_t m : {size_t(1), size_t(5), size_t(17)})
    for (size_t n : {size_t(1), size_t(3), size_t(33)})
      for (size_t k : {size_t(1), size_t(7), size_t(65)})
        expect_linear_f32_matches(o, m, n, k, Epilogue::kNone, rng, /*pack=*/false);
  expect_linear_f32_matches(o, 9, 773, 64, Epilogue::kGeluErf, rng, false);
  expect_linear_f32_matches(o, 4, 40, 31, Epilogue::kGeluTanh, rng, false);
}

TEST_P(SimdVsRef, LinearF32FusedGelu) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(43);
  for (size_t m : {size_t(1), size_t(17)})
    for (size_t n : {size_t(33), size_t(773)}) {
      expect_linear_f32_matches(o, m, n, 64, Epilogue::kGeluErf, rng);
      expect_linear_f32_matches(o, m, n, 31, Epilogue::kGeluTanh, rng);
    }
}

TEST_P(SimdVsRef, GemmF32) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(44);
  for (size_t m : kRows)
    for (size_t n : {size_t(1), size_t(33), size_t(773)})
      for (size_t k : {size_t(7), size_t(773)}) {
        auto x = random_floats(m * k, rng), w = random_floats(n * k, rng), b = random_floats(n, rng);
        std::vector<float> y(m * n), yr(m * n);
        o.gemm_f32(x.data(), k, w.data(), b.data(), y.data(), n, m, n, k);
        ref().gemm_f32(x.data(), k, w.data(), b.data(), yr.data(), n, m, n, k);
        for (size_t i = 0; i < m * n; ++i) {
          ASSERT_NEAR(y[i], yr[i], 2e-6 * std::sqrt(double(k)) * (k + 1) * 0.5 + 1e-6)
              << "m=" << m << " n=" << n << " k=" << k;
        }
      }
}

TEST_P(SimdVsRef, GeluErfAndTanh) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(45);
  for (size_t n : {size_t(1), size_t(7), size_t(16), size_t(33), size_t(3077)}) {
    auto x = random_floats(n, rng, -12, 12);
    x[0] = n > 1 ? 0.0f : x[0];
    for (bool erf : {true, false}) {
      auto a = x, b = x;
      (erf ? o.gelu_erf : o.gelu_tanh)(a.data(), n);
      (erf ? ref().gelu_erf : ref().gelu_tanh)(b.data(), n);
      for (size_t i = 0; i < n; ++i) {
        ASSERT_NEAR(a[i], b[i], 2e-6 * (1 + std::fabs(x[i])))
            << (erf ? "erf" : "tanh") << " x=" << x[i];
      }
    }
  }
}

TEST_P(SimdVsRef, SoftmaxAndLayerNorm) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(46);
  for (size_t n : kDims) {
    auto x = random_floats(n, rng, -30, 30);
    auto a = x, b = x;
    o.softmax(a.data(), n);
    ref().softmax(b.data(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_NEAR(a[i], b[i], 1e-6 + 1e-5 * b[i]) << "n=" << n;
    for (size_t rows : {size_t(1), size_t(3)}) {
      auto v = random_floats(rows * n, rng, -3, 5), res = random_floats(rows * n, rng);
      auto gamma = random_floats(n, rng, 0.5f, 1.5f), beta = random_floats(n, rng);
      auto la = v, lb = v;
      o.add_layernorm(la.data(), res.data(), gamma.data(), beta.data(), rows, n, 1e-12f);
      ref().add_layernorm(lb.data(), res.data(), gamma.data(), beta.data(), rows, n, 1e-12f);
      for (size_t i = 0; i < rows * n; ++i) ASSERT_NEAR(la[i], lb[i], 2e-5 * (1 + std::fabs(lb[i])));
      la = v; lb = v;
      o.add_layernorm(la.data(), nullptr, gamma.data(), beta.data(), rows, n, 1e-5f);
      ref().add_layernorm(lb.data(), nullptr, gamma.data(), beta.data(), rows, n, 1e-5f);
      for (size_t i = 0; i < rows * n; ++i) ASSERT_NEAR(la[i], lb[i], 2e-5 * (1 + std::fabs(lb[i])));
    }
  }
}

TEST_P(SimdVsRef, QuantizeIsBitIdentical) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(47);
  for (size_t m : kRows)
    for (size_t k : kDims) {
      const size_t ldx = k + 1, ldq = k + 2;
      auto x = random_floats(m * ldx, rng, -4, 4);
      // Exact ties of the rounding rule: x·inv = j + 0.5 when amax = 127 and x = j + 0.5.
      if (k >= 7) { x[0] = 127.0f; x[1] = 2.5f; x[2] = -3.5f; x[3] = 0.5f; }
      if (m > 1) for (size_t i = 0; i < k; ++i) x[ldx + i] = 0.0f;  // an all-zero row
      std::vector<uint8_t> q(m * ldq, 0), qr(m * ldq, 0);
      std::vector<float> s(m), sr(m);
      o.quantize_rows_u8(x.data(), ldx, q.data(), ldq, s.data(), m, k);
      ref().quantize_rows_u8(x.data(), ldx, qr.data(), ldq, sr.data(), m, k);
      ASSERT_EQ(q, qr) << "m=" << m << " k=" << k;
      ASSERT_EQ(s, sr);
    }
}

// A random int8 linear layer: activations q [m, ldq], weights w [n, k] with their row sums,
// per-channel and per-row scales, bias.
struct Int8Problem {
  std::vector<uint8_t> q;
  std::vector<int8_t> w;
  std::vector<int32_t> row_sum;
  std::vector<float> ws, xs, bias;
};

// narrow: weights in [-64, 64] (what QuantizedWeights::narrow promises), both ends included.
Int8Problem random_int8_problem(size_t m, size_t n, size_t k, size_t ldq, std::mt19937& rng,
                                bool narrow = false) {
  // q as quantize_rows_u8 produces it (never 0: clamped to +-127 around 128, which the AVX2
  // kernel relies on); weights over all of s8, -128 included (a file's int8 weights need not come
  // from our symmetric quantizer).
  std::uniform_int_distribution<int> u8(1, 255), s8(narrow ? -64 : -128, narrow ? 64 : 127);
  Int8Problem p;
  p.q.resize(m * ldq);
  for (auto& v : p.q) v = static_cast<uint8_t>(u8(rng));
  p.w.resize(n * k);
  for (auto& v : p.w) v = static_cast<int8_t>(s8(rng));
  p.row_sum.assign(n, 0);
  for (size_t c = 0; c < n; ++c)
    for (size_t i = 0; i < k; ++i) p.row_sum[c] += p.w[c * k + i];
  p.ws = random_floats(n, rng, 0.001f, 0.02f);
  p.xs = random_floats(m, rng, 0.01f, 0.1f);
  p.bias = random_floats(n, rng);
  return p;
}

void expect_linear_u8s8_matches(const Ops& o, size_t m, size_t n, size_t k, bool unit_scales,
                                Epilogue epi, std::mt19937& rng, bool narrow = false) {
  const size_t ldq = k + 5, ldy = n + 3;
  Int8Problem p = random_int8_problem(m, n, k, ldq, rng, narrow);
  if (narrow && m > 1 && n > 2) {
    // The largest pair sums vpmaddubsw can meet: q = 255 against w = 64 and w = -64 throughout
    // (255·64·2 = 32640, just inside int16), and q = 1 against them.
    std::fill(p.q.begin(), p.q.begin() + static_cast<long>(ldq), uint8_t{255});
    std::fill(p.q.begin() + static_cast<long>(ldq), p.q.begin() + static_cast<long>(2 * ldq), uint8_t{1});
    std::fill(p.w.begin(), p.w.begin() + static_cast<long>(k), int8_t{64});
    std::fill(p.w.begin() + static_cast<long>(k), p.w.begin() + static_cast<long>(2 * k), int8_t{-64});
    for (size_t c = 0; c < 2; ++c) {
      p.row_sum[c] = 0;
      for (size_t i = 0; i < k; ++i) p.row_sum[c] += p.w[c * k + i];
    }
  }
  std::vector<uint8_t>& q = p.q;
  std::vector<int8_t>& w = p.w;
  std::vector<int32_t>& row_sum = p.row_sum;
  std::vector<float>&ws = p.ws, &xs = p.xs, &bias = p.bias;
  if (unit_scales) {
    std::fill(ws.begin(), ws.end(), 1.0f);
    std::fill(xs.begin(), xs.end(), 1.0f);
  }
  QuantizedWeights qw;
  qw.data = w.data(); qw.scale = ws.data(); qw.row_sum = row_sum.data(); qw.n = n; qw.k = k;
  Aligned<int8_t> packed(o.packed_u8s8_size(n, k) + 1);
  QuantizedWeights qp = qw;
  qp.narrow = narrow;
  if (o.packed_u8s8_size(n, k) > 0) {
    o.pack_u8s8(w.data(), n, k, packed.ptr);
    qp.packed = packed.ptr;
  }
  const float* b = unit_scales ? nullptr : bias.data();
  std::vector<float> y(m * ldy, 7.0f), yr(m * ldy, 7.0f);
  const size_t split = n > kPackPanel ? kPackPanel : n;
  o.linear_u8s8(q.data(), ldq, xs.data(), qp, b, y.data(), ldy, m, 0, split, epi);
  o.linear_u8s8(q.data(), ldq, xs.data(), qp, b, y.data(), ldy, m, split, n, epi);
  ref().linear_u8s8(q.data(), ldq, xs.data(), qw, b, yr.data(), ldy, m, 0, n, epi);
  for (size_t i = 0; i < m * ldy; ++i) {
    if (unit_scales) {
      ASSERT_EQ(y[i], yr[i]) << isa_name(o.isa) << " m=" << m << " n=" << n << " k=" << k << " i=" << i;
    } else {
      ASSERT_NEAR(y[i], yr[i], 1e-6 * std::fabs(yr[i]) + 2e-6 * (1 + std::fabs(yr[i])))
          << isa_name(o.isa) << " m=" << m << " n=" << n << " k=" << k;
    }
  }
  // The legacy whole-matrix entry agrees too.
  std::vector<float> y2(m * ldy, 7.0f);
  o.gemm_u8s8(q.data(), ldq, xs.data(), qp, b, y2.data(), ldy, m);
  std::vector<float> yr2(m * ldy, 7.0f);
  ref().gemm_u8s8(q.data(), ldq, xs.data(), qw, b, yr2.data(), ldy, m);
  for (size_t i = 0; i < m * ldy; ++i) {
    if (unit_scales) ASSERT_EQ(y2[i], yr2[i]);
    else ASSERT_NEAR(y2[i], yr2[i], 1e-6 * std::fabs(yr2[i]) + 1e-6);
  }
}

TEST_P(SimdVsRef, LinearU8S8ExactInt32) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(48);
  for (size_t m : kRows)
    for (size_t n : kDims)
      for (size_t k : kDims) expect_linear_u8s8_matches(o, m, n, k, true, Epilogue::kNone, rng);
}

// Weights of 7 bits (`--reduce-range`): the AVX2 kernel's path without the sign step must give
// the reference's sums exactly too, at the extremes included.
TEST_P(SimdVsRef, LinearU8S8NarrowWeightsExactInt32) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(50);
  for (size_t m : kRows)
    for (size_t n : kDims)
      for (size_t k : kDims) expect_linear_u8s8_matches(o, m, n, k, true, Epilogue::kNone, rng, true);
  for (size_t m : {size_t(1), size_t(17)})
    expect_linear_u8s8_matches(o, m, 773, 773, false, Epilogue::kGeluErf, rng, true);
}

TEST_P(SimdVsRef, LinearU8S8ScaledWithEpilogue) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(49);
  for (size_t m : {size_t(1), size_t(17)})
    for (size_t n : {size_t(7), size_t(773)})
      for (size_t k : {size_t(33), size_t(773)}) {
        expect_linear_u8s8_matches(o, m, n, k, false, Epilogue::kNone, rng);
        expect_linear_u8s8_matches(o, m, n, k, false, Epilogue::kGeluErf, rng);
      }
}

// Found by fuzz_model (issue 9): a NaN activation (NaN/Inf weights) reached a float -> int
// conversion of NaN (undefined behaviour) in the scalar tail, and could be quantized away into a
// finite but wrong row. Now the row's scale is NaN (so the NaN reaches the logits and is reported)
// and q is defined and the same on every ISA; Inf behaves likewise (scale Inf).
TEST_P(SimdVsRef, QuantizeNonFiniteRowsPropagate) {
  const Ops& o = ops_for(GetParam());
  for (size_t k : {size_t(5), size_t(19), size_t(64), size_t(77)})
    for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
      std::vector<float> x(2 * k);
      for (size_t i = 0; i < x.size(); ++i) x[i] = 0.25f * static_cast<float>(i % 9) - 1.0f;
      x[k + k / 2] = bad;  // row 1 only
      x[k - 1] = bad;      // and the last (tail) element of row 0
      std::vector<uint8_t> q(2 * k), qr(2 * k);
      float s[2], sr[2];
      o.quantize_rows_u8(x.data(), k, q.data(), k, s, 2, k);
      ref().quantize_rows_u8(x.data(), k, qr.data(), k, sr, 2, k);
      EXPECT_EQ(q, qr) << isa_name(o.isa) << " k=" << k << " bad=" << bad;
      for (int r = 0; r < 2; ++r) {
        EXPECT_FALSE(std::isfinite(s[r])) << isa_name(o.isa) << " k=" << k << " row " << r;
        EXPECT_FALSE(std::isfinite(sr[r]));
      }
    }
}

// Issue 9.9: a row's int8 result must not depend on its batch-mates (how many rows share the
// call, where in the tile the row falls). The int32 sums are exact; the float epilogue
// x_scale * w_scale * acc + bias is computed in the reference's order with separate roundings
// on every ISA (the kernels are compiled with -ffp-contract=off, so no tile shape gets a fused
// multiply-add the others do not), so every row is bit-identical to itself computed alone, and
// without an activation bit-identical to the scalar reference.
TEST_P(SimdVsRef, LinearU8S8RowsIndependentOfBatchMates) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(50);
  for (size_t n : {size_t(7), size_t(48), size_t(773)})
    for (size_t k : {size_t(33), size_t(256)}) {
      const size_t m = 37, ldq = k, ldy = n;
      Int8Problem p = random_int8_problem(m, n, k, ldq, rng);
      const std::vector<uint8_t>& q = p.q;
      const std::vector<int8_t>& w = p.w;
      const std::vector<float>&ws = p.ws, &xs = p.xs, &bias = p.bias;
      const std::vector<int32_t>& row_sum = p.row_sum;
      QuantizedWeights qw;
      qw.data = w.data(); qw.scale = ws.data(); qw.row_sum = row_sum.data(); qw.n = n; qw.k = k;
      Aligned<int8_t> packed(o.packed_u8s8_size(n, k) + 1);
      if (o.packed_u8s8_size(n, k) > 0) {
        o.pack_u8s8(w.data(), n, k, packed.ptr);
        qw.packed = packed.ptr;
      }
      for (Epilogue epi : {Epilogue::kNone, Epilogue::kGeluErf, Epilogue::kGeluTanh}) {
        std::vector<float> all(m * ldy);
        o.linear_u8s8(q.data(), ldq, xs.data(), qw, bias.data(), all.data(), ldy, m, 0, n, epi);
        for (size_t first = 0; first < m; ++first)
          for (size_t rows : {size_t(1), size_t(2), size_t(3), size_t(5)}) {
            if (first + rows > m) continue;
            std::vector<float> part(rows * ldy);
            o.linear_u8s8(q.data() + first * ldq, ldq, xs.data() + first, qw, bias.data(), part.data(), ldy, rows,
                          0, n, epi);
            ASSERT_EQ(0, std::memcmp(part.data(), all.data() + first * ldy, part.size() * sizeof(float)))
                << isa_name(o.isa) << " n=" << n << " k=" << k << " rows " << first << "+" << rows
                << " differ from the same rows inside a batch of " << m;
          }
        if (epi == Epilogue::kNone) {
          QuantizedWeights plain = qw;
          plain.packed = nullptr;
          std::vector<float> expected(m * ldy);
          ref().linear_u8s8(q.data(), ldq, xs.data(), plain, bias.data(), expected.data(), ldy, m, 0, n, epi);
          ASSERT_EQ(0, std::memcmp(expected.data(), all.data(), all.size() * sizeof(float)))
              << isa_name(o.isa) << " n=" << n << " k=" << k << ": not bit-identical to the reference";
        }
      }
    }
}

// Runs o's linear_u8s8 on p (packed by o) over two column ranges split at a panel boundary.
std::vector<float> run_linear_u8s8(const Ops& o, const Int8Problem& p, size_t m, size_t n, size_t k,
                                   size_t ldq, size_t ldy, Epilogue epi) {
  QuantizedWeights qw;
  qw.data = p.w.data(); qw.scale = p.ws.data(); qw.row_sum = p.row_sum.data(); qw.n = n; qw.k = k;
  Aligned<int8_t> packed(o.packed_u8s8_size(n, k) + 1);
  if (o.packed_u8s8_size(n, k) > 0) {
    o.pack_u8s8(p.w.data(), n, k, packed.ptr);
    qw.packed = packed.ptr;
  }
  std::vector<float> y(m * ldy, 7.0f);
  const size_t split = n > kPackPanel ? kPackPanel : n;
  o.linear_u8s8(p.q.data(), ldq, p.xs.data(), qw, p.bias.data(), y.data(), ldy, m, 0, split, epi);
  o.linear_u8s8(p.q.data(), ldq, p.xs.data(), qw, p.bias.data(), y.data(), ldy, m, split, n, epi);
  return y;
}

// The amx table's int8 linear layer (tdpbusd) around its tile edges: rows 1, 15, 17, 33 (a
// partial row tile; one whole and one of 1 row; a whole 32-row block and 1 row under a second
// tile configuration), columns 1, 15, 17, 40 (partial panels, 2.5 panels), k 1, 3, 63, 65, 768
// (tails of 1, 3, 63 bytes read from the zero-padded copy, 64 + 1, BERT's 12 whole tiles). Its
// int32 sums are exact, so with unit scales it equals the scalar reference bit for bit; with real
// scales, bias and GELU it keeps the VNNI budget against the reference and is bit-identical to
// the avx512vnni table (the same sums through the same epilogue code).
TEST(AmxInt8, MatchesReferenceAndVnniBitForBit) {
  if (!isa_supported(Isa::kAmx)) {
    GTEST_SKIP() << "the amx table cannot run here: "
                 << (amx_status().usable ? "no avx512vnni table" : amx_status().reason);
  }
  const Ops& amx = ops_for(Isa::kAmx);
  const Ops& vnni = ops_for(Isa::kAvx512Vnni);
  std::mt19937 rng(54);
  for (size_t m : {size_t(1), size_t(15), size_t(17), size_t(33)})
    for (size_t n : {size_t(1), size_t(15), size_t(17), size_t(40)})
      for (size_t k : {size_t(1), size_t(3), size_t(63), size_t(65), size_t(768)}) {
        expect_linear_u8s8_matches(amx, m, n, k, true, Epilogue::kNone, rng);
        expect_linear_u8s8_matches(amx, m, n, k, false, Epilogue::kGeluErf, rng);
        const size_t ldq = k + 3, ldy = n + 2;
        const Int8Problem p = random_int8_problem(m, n, k, ldq, rng);
        for (Epilogue epi : {Epilogue::kNone, Epilogue::kGeluErf, Epilogue::kGeluTanh}) {
          const std::vector<float> a = run_linear_u8s8(amx, p, m, n, k, ldq, ldy, epi);
          const std::vector<float> v = run_linear_u8s8(vnni, p, m, n, k, ldq, ldy, epi);
          ASSERT_EQ(0, std::memcmp(a.data(), v.data(), a.size() * sizeof(float)))
              << "amx differs from avx512vnni: m=" << m << " n=" << n << " k=" << k;
        }
      }
}

TEST_P(SimdVsRef, AttentionHead) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(50);
  for (size_t seq : {size_t(1), size_t(3), size_t(17), size_t(128), size_t(130)})
    for (size_t head_dim : {size_t(7), size_t(64)}) {
      const size_t ld = 3 * head_dim + 1, ldo = head_dim + 2;
      auto qkv = random_floats(seq * ld, rng, -2, 2);
      std::vector<float> out(seq * ldo, 7.0f), outr(seq * ldo, 7.0f);
      std::vector<float> scratch(attention_scratch_floats(seq, head_dim) + 16);
      // 64-byte aligned scratch
      Aligned<float> aligned(attention_scratch_floats(seq, head_dim));
      const float scale = 1.0f / std::sqrt(float(head_dim));
      o.attention_head(qkv.data(), qkv.data() + head_dim, qkv.data() + 2 * head_dim, ld, seq,
                       head_dim, scale, out.data(), ldo, aligned.ptr);
      ref().attention_head(qkv.data(), qkv.data() + head_dim, qkv.data() + 2 * head_dim, ld, seq,
                           head_dim, scale, outr.data(), ldo, scratch.data());
      for (size_t i = 0; i < seq * ldo; ++i) {
        ASSERT_NEAR(out[i], outr[i], 1e-5 * (1 + std::fabs(outr[i])))
            << isa_name(o.isa) << " seq=" << seq << " d=" << head_dim;
      }
    }
}

TEST(ScalarReference, ReluTanhAndOneQueryAttention) {
  std::vector<float> x = {-2.0f, -0.0f, 0.0f, 0.5f, 3.0f};
  ref().relu(x.data(), x.size());
  EXPECT_EQ(x, (std::vector<float>{0.0f, 0.0f, 0.0f, 0.5f, 3.0f}));
  x = {0.0f, 1.0f, -20.0f};
  ref().tanh(x.data(), x.size());
  EXPECT_FLOAT_EQ(x[0], 0.0f);
  EXPECT_NEAR(x[1], 0.7615941559557649, 1e-7);
  EXPECT_FLOAT_EQ(x[2], -1.0f);
  // Two keys, scores 0 and ln 3 (q . k_1 = ln 3 at scale 1): p = (1/4, 3/4), out = p . v.
  const float q[2] = {1.0f, 0.0f};
  const float kv[2][4] = {{0.0f, 0.0f, 1.0f, 2.0f}, {static_cast<float>(std::log(3.0)), 5.0f, 3.0f, -2.0f}};
  float out[2], scores[2];
  ref().attention_one_query(q, &kv[0][0], &kv[0][2], 4, 2, 2, 1.0f, out, scores);
  EXPECT_NEAR(out[0], 0.25 * 1 + 0.75 * 3, 1e-6);
  EXPECT_NEAR(out[1], 0.25 * 2 + 0.75 * -2, 1e-6);
}

TEST_P(SimdVsRef, ReluTanhAndOneQueryAttention) {
  const Ops& o = ops_for(GetParam());
  std::mt19937 rng(51);
  for (size_t n : {size_t(1), size_t(7), size_t(33), size_t(3077)}) {
    auto x = random_floats(n, rng, -12, 12);
    auto a = x, b = x;
    o.relu(a.data(), n);
    ref().relu(b.data(), n);
    ASSERT_EQ(a, b);
    a = x;
    b = x;
    o.tanh(a.data(), n);
    ref().tanh(b.data(), n);
    for (size_t i = 0; i < n; ++i) ASSERT_NEAR(a[i], b[i], 2e-7 * (1 + std::fabs(x[i])));
  }
  for (size_t seq : {size_t(1), size_t(3), size_t(17), size_t(130)})
    for (size_t head_dim : {size_t(7), size_t(64)}) {
      const size_t ld = 3 * head_dim + 1;
      auto qkv = random_floats(seq * ld, rng, -2, 2);
      auto q = random_floats(head_dim, rng, -2, 2);
      std::vector<float> out(head_dim), outr(head_dim), scores(seq), scores_r(seq);
      const float scale = 1.0f / std::sqrt(float(head_dim));
      o.attention_one_query(q.data(), qkv.data() + head_dim, qkv.data() + 2 * head_dim, ld, seq,
                            head_dim, scale, out.data(), scores.data());
      ref().attention_one_query(q.data(), qkv.data() + head_dim, qkv.data() + 2 * head_dim, ld,
                                seq, head_dim, scale, outr.data(), scores_r.data());
      for (size_t d = 0; d < head_dim; ++d)
        ASSERT_NEAR(out[d], outr[d], 1e-5 * (1 + std::fabs(outr[d])))
            << isa_name(o.isa) << " seq=" << seq << " d=" << head_dim;
    }
}

TEST_P(SimdVsRef, AttentionHeadBf16) {
  const Ops& o = ops_for(GetParam());
  if (!o.attention_head_bf16)
    GTEST_SKIP() << isa_name(o.isa) << " table has no bf16 attention (AVX-512 tables on CPUs with "
                 << "AVX512_BF16 only)";
  constexpr double u = 1.0 / 256;
  std::mt19937 rng(51);
  for (size_t seq : {size_t(1), size_t(2), size_t(3), size_t(17), size_t(33), size_t(128), size_t(130)})
    // Odd dims in the first and in a second block of 16 pairs (7, 33, 65), 3 P·V chunks (48).
    for (size_t head_dim : {size_t(7), size_t(32), size_t(33), size_t(48), size_t(64), size_t(65),
                            size_t(80)}) {
      const size_t ld = 3 * head_dim + 1, ldo = head_dim + 2;
      auto qkv = random_floats(seq * ld, rng, -2, 2);
      std::vector<float> qkv_abs_v = qkv;  // |v| in place of v: the reference then gives m_d
      for (size_t j = 0; j < seq; ++j)
        for (size_t d = 0; d < head_dim; ++d)
          qkv_abs_v[j * ld + 2 * head_dim + d] = std::fabs(qkv[j * ld + 2 * head_dim + d]);
      std::vector<float> out(seq * ldo, 7.0f), out_bf16(seq * ldo, 7.0f), out_f32(seq * ldo, 7.0f),
          magnitude(seq * ldo, 7.0f);
      std::vector<float> scratch(attention_scratch_floats(seq, head_dim));
      Aligned<float> aligned(attention_scratch_floats(seq, head_dim));
      const float scale = 1.0f / std::sqrt(float(head_dim));
      auto run = [&](auto fn, const std::vector<float>& in, std::vector<float>& to, float* s) {
        fn(in.data(), in.data() + head_dim, in.data() + 2 * head_dim, ld, seq, head_dim, scale,
           to.data(), ldo, s);
      };
      run(o.attention_head_bf16, qkv, out, aligned.ptr);
      run(ref::attention_head_bf16, qkv, out_bf16, scratch.data());
      run(ref().attention_head, qkv, out_f32, scratch.data());
      run(ref().attention_head, qkv_abs_v, magnitude, scratch.data());
      for (size_t i = 0; i < seq; ++i) {
        double score_error = 0;
        for (size_t j = 0; j < seq; ++j) {
          double sum = 0;
          for (size_t d = 0; d < head_dim; ++d)
            sum += std::fabs(double(qkv[i * ld + d]) * qkv[j * ld + head_dim + d]);
          score_error = std::max(score_error, 2 * u * scale * sum);
        }
        for (size_t d = 0; d < ldo; ++d) {
          const size_t at = i * ldo + d;
          if (d >= head_dim) {
            ASSERT_EQ(out[at], 7.0f) << "wrote past head_dim";
            continue;
          }
          const double m = magnitude[at];
          ASSERT_NEAR(out[at], out_bf16[at], 1e-5 * (1 + std::fabs(out_bf16[at])) + 2 * u * m)
              << "vs bf16 reference, seq=" << seq << " d=" << head_dim << " row " << i;
          ASSERT_NEAR(out[at], out_f32[at], m * (2 * score_error + 3 * u) + 1e-6)
              << "vs fp32 reference, seq=" << seq << " d=" << head_dim << " row " << i;
        }
      }
    }
}

INSTANTIATE_TEST_SUITE_P(SupportedIsas, SimdVsRef, ::testing::ValuesIn(simd_isas()),
                         [](const ::testing::TestParamInfo<Isa>& info) {
                           return std::string(isa_name(info.param));
                         });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SimdVsRef);

}  // namespace
}  // namespace maum::kernels

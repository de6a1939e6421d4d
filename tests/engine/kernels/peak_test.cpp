// The peak table and clock behind the "% of peak" figures (engine/kernels/peak.h): the per-ISA
// ordering that must hold on any CPU, the Zen 4 / Zen 5 / Intel values from fixed feature sets,
// cpuid's family/model against /proc/cpuinfo, and the measured clock's plausibility and override.
#include <cstdlib>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "engine/kernels/kernels.h"
#include "engine/kernels/peak.h"

namespace maum::kernels {
namespace {

const Isa kAllIsas[] = {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAmx};

CpuFeatures avx512_cpu(bool amd, unsigned family, unsigned model) {
  CpuFeatures f;
  f.avx2 = f.fma = f.f16c = true;
  f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = f.avx512vnni = true;
  f.amd = amd;
  f.intel = !amd;
  f.family = family;
  f.model = model;
  return f;
}

// AMD Zen 4 runs 512-bit ops as two 256-bit halves; Zen 5 and Intel at full width.
TEST(PeakTest, Avx512WidthByVendorAndFamily) {
  struct Case {
    const char* name;
    CpuFeatures cpu;
    bool full_width;
    double vnni_int8, avx512_fp32;
  };
  const Case cases[] = {
      {"Zen 4 (EPYC 9004)", avx512_cpu(true, 0x19, 0x11), false, 128, 32},
      {"Zen 5 (EPYC 9005)", avx512_cpu(true, 0x1a, 0x02), true, 256, 64},
      {"Intel Sapphire Rapids", avx512_cpu(false, 0x6, 0x8f), true, 256, 64},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(avx512_full_width(c.cpu), c.full_width);
    EXPECT_EQ(peak_ops_per_cycle(Isa::kAvx512Vnni, true, c.cpu), c.vnni_int8);
    EXPECT_EQ(peak_ops_per_cycle(Isa::kAvx512Vnni, false, c.cpu), c.avx512_fp32);
    EXPECT_EQ(peak_ops_per_cycle(Isa::kAvx512, false, c.cpu), c.avx512_fp32);
    EXPECT_EQ(peak_ops_per_cycle(Isa::kAvx512, true, c.cpu), 64);  // the AVX2 int8 kernel
    EXPECT_EQ(peak_ops_per_cycle(Isa::kAvx2, false, c.cpu), 32);
    EXPECT_EQ(peak_ops_per_cycle(Isa::kAvx2, true, c.cpu), 64);
    EXPECT_EQ(std::string(vector_width_note(c.cpu)).find("Zen 4") != std::string::npos,
              !c.full_width);
  }
}

// Must hold for any CPU: checked on this one and on the fixed Zen 4 / Zen 5 / Intel feature sets.
TEST(PeakTest, OrderingHolds) {
  for (const CpuFeatures& cpu : {cpu_features(), avx512_cpu(true, 0x19, 0x11),
                                 avx512_cpu(true, 0x1a, 0x02), avx512_cpu(false, 0x6, 0x8f)}) {
    SCOPED_TRACE(vector_width_note(cpu));
    const double scalar = peak_ops_per_cycle(Isa::kScalar, false, cpu);
    for (Isa isa : kAllIsas) {
      SCOPED_TRACE(isa_name(isa));
      const double f32 = peak_ops_per_cycle(isa, false, cpu);
      const double i8 = peak_ops_per_cycle(isa, true, cpu);
      EXPECT_GE(f32, scalar);
      EXPECT_GE(i8, peak_ops_per_cycle(Isa::kScalar, true, cpu));
      EXPECT_GE(i8, f32);
      if (isa == Isa::kScalar) continue;
      EXPECT_GT(f32, scalar);
      // 8-bit lanes: at least twice the fp32 work per instruction (AVX-512 without VNNI runs the
      // AVX2 int8 kernel, so only the ISAs with their own int8 instructions).
      if (isa != Isa::kAvx512) {
        EXPECT_GE(i8, 2 * f32);
      }
    }
    EXPECT_GE(peak_ops_per_cycle(Isa::kAvx512Vnni, true, cpu),
              2 * peak_ops_per_cycle(Isa::kAvx2, true, cpu))
        << "VNNI must at least double the AVX2 int8 kernel it replaces";
    EXPECT_GE(peak_ops_per_cycle(Isa::kAmx, true, cpu),
              4 * peak_ops_per_cycle(Isa::kAvx512Vnni, true, cpu))
        << "a tdpbusd does 16 rows x 16 columns x 64 k, many zmm vpdpbusd";
    EXPECT_EQ(peak_ops_per_cycle(Isa::kAmx, false, cpu),
              peak_ops_per_cycle(Isa::kAvx512Vnni, false, cpu))
        << "fp32 runs the same AVX-512 kernels in both tables";
    EXPECT_GE(peak_ops_per_cycle(Isa::kAvx512, false, cpu),
              peak_ops_per_cycle(Isa::kAvx2, false, cpu));
    EXPECT_STRNE(vector_width_note(cpu), "");
  }
  EXPECT_STRNE(vector_width_note(), "");
}

#if defined(__x86_64__) || defined(__i386__)
// cpuid's family/model (extended fields folded in) must match what the kernel reports.
TEST(PeakTest, FamilyAndModelMatchProcCpuinfo) {
#if !MAUM_SIMD
  GTEST_SKIP() << "built with MAUM_SIMD=OFF: no cpuid, so vendor and family/model are not read";
#endif
  std::ifstream in("/proc/cpuinfo");
  if (!in) GTEST_SKIP() << "no /proc/cpuinfo";
  std::string line, vendor, flags;
  long family = -1, model = -1;
  while (std::getline(in, line) && !line.empty()) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    key.erase(key.find_last_not_of(" \t") + 1);
    const std::string value = line.substr(colon + 1);
    if (key == "vendor_id") vendor = value.substr(value.find_first_not_of(' '));
    if (key == "cpu family") family = std::stol(value);
    if (key == "model") model = std::stol(value);
    if (key == "flags") flags = value + " ";
  }
  if (family < 0 || model < 0) GTEST_SKIP() << "/proc/cpuinfo has no family/model";
  const CpuFeatures& f = cpu_features();
  EXPECT_EQ(static_cast<long>(f.family), family);
  EXPECT_EQ(static_cast<long>(f.model), model);
  EXPECT_EQ(f.amd, vendor == "AuthenticAMD");
  EXPECT_EQ(f.intel, vendor == "GenuineIntel");
  // The AMX bits (cpuid leaf 7 edx 24 / 25 / 22): what the kernel lists, cpuid has (the kernel
  // may hide a bit it does not support, never invent one), and AMX usable means listed.
  if (!flags.empty()) {
    const auto listed = [&](const char* flag) {
      return flags.find(std::string(" ") + flag + " ") != std::string::npos;
    };
    EXPECT_TRUE(!listed("amx_tile") || f.amx_tile);
    EXPECT_TRUE(!listed("amx_int8") || f.amx_int8);
    EXPECT_TRUE(!listed("amx_bf16") || f.amx_bf16);
    EXPECT_TRUE(!amx_status().usable ||
                (listed("amx_tile") && (listed("amx_int8") || listed("amx_bf16"))))
        << flags;
  }
}

TEST(PeakTest, ClockIsPlausibleAndOverridable) {
  const char* saved = std::getenv("MAUM_PEAK_GHZ");
  const std::string saved_value = saved ? saved : "";
  unsetenv("MAUM_PEAK_GHZ");
  const double ghz = measure_clock_ghz();
  EXPECT_GT(ghz, 0.2);
  EXPECT_LT(ghz, 10.0);
  setenv("MAUM_PEAK_GHZ", "2.5", 1);
  EXPECT_DOUBLE_EQ(measure_clock_ghz(), 2.5);
  setenv("MAUM_PEAK_GHZ", "bogus", 1);  // not a positive number: measured instead
  const double measured = measure_clock_ghz();
  EXPECT_GT(measured, 0.2);
  EXPECT_LT(measured, 10.0);
  if (saved) {
    setenv("MAUM_PEAK_GHZ", saved_value.c_str(), 1);
  } else {
    unsetenv("MAUM_PEAK_GHZ");
  }
}
#endif

}  // namespace
}  // namespace maum::kernels

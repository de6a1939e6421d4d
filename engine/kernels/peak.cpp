// Peak throughput and clock for the "% of peak" figures (see peak.h). Compiled with the baseline
// flags: nothing here executes vector code, it only reads cpuid results and times integer adds.
//
// Why the vendor/family matters: cpuid tells whether AVX-512 exists, not how wide the datapath
// behind it is.
//  - AMD Zen 4 (family 0x19; the Zen 3 parts of that family have no AVX-512) has four 256-bit
//    FP/vector pipes and issues each 512-bit op as two 256-bit halves: 2 FMA ymm-equivalents per
//    cycle = 32 fp32 flop/cycle for AVX2 and AVX-512 alike, and vpdpbusd zmm at 1 per cycle = 64
//    u8·s8 MACs = 128 int8 op/cycle. Counting Zen 4 as full width halves every "% of peak" (the
//    VNNI GEMM showed ~45% of a 256 op/cycle peak while running at ~90% of the real one).
//  - AMD Zen 5 (family 0x1A) desktop/server parts have full 512-bit pipes: 64 flop/cycle, 2
//    vpdpbusd zmm per cycle = 256 op/cycle. Known inexact case: the mobile Zen 5 parts (Strix
//    Point and relatives) keep a 256-bit datapath and would need Zen 4's figures; they are not
//    told apart here.
//  - Intel AVX-512 server parts (Skylake-SP Gold/Platinum and later Xeons) have two 512-bit FMA
//    ports (0+1 fused, and 5). Known inexact case: parts with a single 512-bit FMA port (some
//    Xeon Bronze/Silver, Ice Lake / Tiger Lake client) peak at half; cpuid does not say which,
//    only a throughput test would.
#include "engine/kernels/peak.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>

namespace maum::kernels {

double measure_clock_ghz() {
  if (const char* env = std::getenv("MAUM_PEAK_GHZ")) {
    const double ghz = std::strtod(env, nullptr);
    if (ghz > 0) return ghz;
  }
#if defined(__x86_64__) || defined(__i386__)
  constexpr long kIterations = 20000000;  // x 10 adds: ~60 ms at 3.5 GHz
  double best = 0;
  for (int rep = 0; rep < 5; ++rep) {
    long x = 0, n = kIterations;
    const long one = 1;
    const auto t0 = std::chrono::steady_clock::now();
    // 10 adds, each depending on the previous one: 10 cycles per iteration on any x86 core
    // (1-cycle add latency; the loop counter is a separate chain that overlaps). Register
    // operands, not immediates: Golden Cove and later Intel cores fold chains of small
    // immediate adds at rename and would run them several per cycle.
    __asm__ volatile(
        "1:\n\t"
        "add %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\t"
        "add %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\tadd %2, %0\n\t"
        "dec %1\n\tjnz 1b\n\t"
        : "+r"(x), "+r"(n)
        : "r"(one));
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, static_cast<double>(kIterations) * 10 / s / 1e9);
  }
  return best;
#else
  return 0;
#endif
}

bool avx512_full_width(const CpuFeatures& cpu) { return !(cpu.amd && cpu.family <= 0x19); }

double peak_ops_per_cycle(Isa isa, bool int8, const CpuFeatures& cpu) {
  const bool full = avx512_full_width(cpu);
  switch (isa) {
    case Isa::kAmx:  // Intel's figure for AMX-INT8: 2048 int8 ops per cycle per core
      if (int8) return 2048;
      return full ? 64 : 32;
    case Isa::kAvx512Vnni:
      if (int8) return full ? 256 : 128;
      return full ? 64 : 32;
    case Isa::kAvx512:
      if (int8) return 64;  // no VNNI: the AVX2 kernel
      return full ? 64 : 32;
    case Isa::kAvx2:
      return int8 ? 64 : 32;
    case Isa::kScalar:
      return 2;
    case Isa::kPortable:  // Eigen on the baseline target: SSE2 on x86-64 (2 x 4-lane mul + add)
      return int8 ? 2 : 16;
  }
  return 2;
}

double peak_ops_per_cycle(Isa isa, bool int8) {
  return peak_ops_per_cycle(isa, int8, cpu_features());
}

const char* vector_width_note(const CpuFeatures& cpu) {
  if (!cpu.avx512f) return "no AVX-512: 2 x 256-bit FMA per cycle, or a vpmaddubsw + vpmaddwd pair (32 int8 multiply-adds)";
  if (!avx512_full_width(cpu)) {
    return "AMD Zen 4 (family 0x19): 512-bit ops run as two 256-bit halves, 2 x 256-bit FMA and "
           "1 x 512-bit vpdpbusd per cycle";
  }
  return "512-bit ops at full width: 2 x 512-bit FMA / vpdpbusd per cycle";
}

const char* vector_width_note() {
#if defined(__x86_64__) || defined(__i386__)
  return vector_width_note(cpu_features());
#else
  return "unknown";
#endif
}

}  // namespace maum::kernels

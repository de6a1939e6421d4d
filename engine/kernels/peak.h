// Per-core peak arithmetic throughput and the core clock: the denominators of the "% of peak"
// figures of `maum bench` (tools/maum/cmd_bench.cpp) and engine/kernels/bench/bench_kernels.cpp. Not used by
// inference.
//
// Peak per cycle of one core, a multiply-add counting 2 ops:
//   fp32  scalar 2; AVX2 32 (2 FMA pipes x 8 lanes x 2); AVX-512 64 (2 x 16 x 2) where 512-bit
//         ops run at full width, 32 where they run as two 256-bit halves (AMD Zen 4).
//   int8  scalar 2; AVX2 and AVX-512 without VNNI 64 (their int8 kernel is the AVX2 one: a
//         vpmaddubsw + vpmaddwd pair, 32 MACs x 2, per cycle); VNNI 256 (2 vpdpbusd zmm per cycle x 64 MACs x 2) at full width,
//         128 (1 vpdpbusd zmm per cycle) on AMD Zen 4; AMX 2048 (tdpbusd: 16x16x64 = 16,384
//         multiply-adds per 16 cycles), fp32 as AVX-512.
// Which CPUs run 512-bit ops at full width is decided from cpuid vendor/family
// (avx512_full_width below); see peak.cpp for the reasoning and the known inexact cases.
#pragma once

#include "engine/kernels/kernels.h"

namespace maum::kernels {

// Core clock in GHz, measured with a chain of dependent integer adds (one per cycle on every
// x86 core), best of 5 runs, so it is the clock the core actually runs at, turbo included.
// MAUM_PEAK_GHZ=<positive number> overrides the measurement. Returns 0 where it cannot measure
// (not x86) and no override is set. Takes ~0.3 s; callers measure once.
double measure_clock_ghz();

// Whether this CPU executes 512-bit vector ops at full width (two 512-bit FMA / VNNI issues per
// cycle) rather than as two 256-bit halves. False for AMD families up to 0x19 (Zen 4, the first
// AMD with AVX-512); true for AMD family 0x1A (Zen 5) and later and for Intel.
bool avx512_full_width(const CpuFeatures& cpu);

// Peak ops per cycle of one core for isa's GEMM kernels: fp32 flops (int8 = false) or int8 ops
// (int8 = true), per the table at the top of this file, for `cpu` (default: this CPU).
double peak_ops_per_cycle(Isa isa, bool int8, const CpuFeatures& cpu);
double peak_ops_per_cycle(Isa isa, bool int8);

// One line describing the vector-width assumption behind peak_ops_per_cycle for `cpu`
// (default: this CPU; "unknown" off x86).
const char* vector_width_note(const CpuFeatures& cpu);
const char* vector_width_note();

}  // namespace maum::kernels

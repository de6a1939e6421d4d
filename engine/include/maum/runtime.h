// Process-wide run-time settings: the one thread knob, and what the CPU dispatch chose.
#pragma once
#include <string>

namespace maum {

// Threads for intra-op parallelism (GEMMs, attention heads, rows). 0 = number of cores. Caps
// everything the engine runs (no library it calls starts threads of its own); never
// oversubscribes. Concurrent calls (one Model used from several threads) share these threads:
// the calling threads count among them, and one call alone gets them all. The share is taken at
// each parallel step, so a second call that starts while a first one's step is running adds its
// own thread until that step ends (for a batch of many short texts, a step can be a whole group
// of them). More calling threads than this each still run their own call.
void set_num_threads(int threads);
int num_threads();

// Human-readable description of the CPU features found and the kernels chosen (honours MAUM_ISA).
std::string runtime_info();

// The choices made for this CPU, one line each ("\n"-terminated) with the reason: whether AMX is
// usable (or why not), which kernel table runs and whether bf16 linear layers run on AMX-BF16
// (and with which kernel), and whether int8 models use bf16 attention
// (honours MAUM_ISA and MAUM_ATTENTION). What `maum --version --verbose` prints after
// runtime_info().
std::string runtime_choices();

// The kernel table the engine runs (honours MAUM_ISA; throws maum::InvalidArgument for a bad one)
// and the peak arithmetic rate of one core with it: the denominators of `maum bench`'s "% of peak".
struct KernelInfo {
  std::string isa;      // "scalar", "portable", "avx2", "avx512", "avx512vnni", "amx"
  std::string kernels;  // the table's description, e.g. "AVX-512 (...)"
  // Peak ops per cycle of one core (a multiply-add counts 2) for fp32 and int8 GEMMs.
  double peak_fp32_ops_per_cycle = 0, peak_int8_ops_per_cycle = 0;
  std::string vector_width_note;  // the vector-width assumption behind the peak figures
};
KernelInfo kernel_info();

// The core clock in GHz, measured (~0.3 s; turbo included) or MAUM_PEAK_GHZ; 0 where it cannot
// be measured (not x86) and no override is set.
double measure_clock_ghz();

}  // namespace maum

// Process-wide run-time settings: the one thread knob, and what the CPU dispatch chose.
#pragma once
#include <string>

namespace maum {

// Threads for intra-op parallelism (GEMMs, attention heads, rows). 0 = number of cores. Caps
// everything the engine runs, OpenBLAS included; never oversubscribes.
void set_num_threads(int threads);
int num_threads();

// Human-readable description of the CPU features found and the kernels chosen (honours MAUM_ISA).
std::string runtime_info();

}  // namespace maum

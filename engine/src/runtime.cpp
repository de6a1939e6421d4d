#include "maum/runtime.h"

#include <sstream>

#include "engine/kernels/kernels.h"
#include "engine/kernels/peak.h"
#include "engine/src/thread_pool.h"

namespace maum {

void set_num_threads(int threads) {
  engine::resize_pool(threads < 0 ? 0 : threads);
}

int num_threads() { return engine::pool_threads(); }

std::string runtime_info() {
  const auto& f = kernels::cpu_features();
  std::ostringstream out;
  out << "cpu:";
  auto flag = [&](bool on, const char* name) {
    if (on) out << ' ' << name;
  };
  flag(f.avx2, "avx2");
  flag(f.fma, "fma");
  flag(f.f16c, "f16c");
  flag(f.avx512f, "avx512f");
  flag(f.avx512bw, "avx512bw");
  flag(f.avx512vl, "avx512vl");
  flag(f.avx512dq, "avx512dq");
  flag(f.avx512vnni, "avx512vnni");
  flag(f.avx512bf16, "avx512bf16");
  flag(f.amx_tile, "amx_tile");
  flag(f.amx_int8, "amx_int8");
  flag(f.amx_bf16, "amx_bf16");
  const auto& ops = kernels::ops();
  out << "; best isa: " << kernels::isa_name(kernels::best_isa())
      << "; selected isa: " << kernels::isa_name(ops.isa) << " (kernels: " << ops.name << ")"
      << "; int8 models' attention: " << (ops.attention_head_bf16 ? "bf16 (vdpbf16ps)" : "fp32")
      << "; precision bf16 linear layers: " << ops.bf16_name
      << "; threads: " << num_threads();
  return out.str();
}

std::string runtime_choices() {
  const kernels::Ops& ops = kernels::ops();
  const kernels::AmxStatus& amx = kernels::amx_status();
  const kernels::Choice& attention = kernels::bf16_attention_choice();
  std::ostringstream out;
  // AMX-BF16 runs where the CPU has it and the amx table is selected (not MAUM_ISA=avx512vnni).
  const char* bf16 = !amx.bf16                   ? "no AMX-BF16, "
                     : ops.isa == kernels::Isa::kAmx ? "AMX-BF16, "
                                                     : "AMX-BF16 not in the selected table, ";
  out << "amx: " << (amx.usable ? "usable" : "not usable — " + amx.reason)
      << "; int8 linear layers run the " << kernels::isa_name(ops.isa) << " table"
      << "; bf16 linear layers (precision bf16): " << bf16 << ops.bf16_name << "\n";
  out << "bf16 attention (int8 models): " << (attention.on ? "on" : "off") << " — "
      << attention.reason << "\n";
  return out.str();
}

KernelInfo kernel_info() {
  const kernels::Ops& ops = kernels::ops();
  KernelInfo info;
  info.isa = kernels::isa_name(ops.isa);
  info.kernels = ops.name;
  info.peak_fp32_ops_per_cycle = kernels::peak_ops_per_cycle(ops.isa, false);
  info.peak_int8_ops_per_cycle = kernels::peak_ops_per_cycle(ops.isa, true);
  info.vector_width_note = kernels::vector_width_note();
  return info;
}

double measure_clock_ghz() { return kernels::measure_clock_ghz(); }

}  // namespace maum

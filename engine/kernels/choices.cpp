// Choices made per CPU: which of two correct kernels the engine runs where the CPU has both,
// decided from measurements on the CPUs listed here (vendor, cpuid family and model as lscpu
// prints them), not from the machine a kernel was tuned on. All such tables live in this file;
// `maum --version --verbose` prints each choice with its reason (docs/PERF.md "ISA dispatch").
// Compiled with the baseline flags: it only reads cpuid results.
#include <string>

#include "engine/kernels/kernels.h"
#include "maum/error.h"

namespace maum::kernels {
namespace {

enum class Vendor { kIntel, kAmd };

// bf16 attention for int8 models (attention_head_bf16: vdpbf16ps, two bf16 multiply-adds per fp32
// lane) or the fp32 kernel. Where the CPU is not listed, bf16 (it was first measured faster).
struct AttentionRule {
  Vendor vendor;
  unsigned family, model_first, model_last;
  bool bf16;
  const char* why;  // follows "<vendor> family F model M"
};
constexpr AttentionRule kBf16AttentionRules[] = {
    {Vendor::kIntel, 6, 207, 207, false,
     "(Emerald Rapids) measured slower: bench_kernels seq 128, bf16 61 vs fp32 107 GFLOP/s "
     "(issue 15); again 62.9 vs 52.1 us per head (docs/PERF.md, 2026-11-28)"},
    {Vendor::kIntel, 6, 143, 143, false,
     "(Sapphire Rapids) taken as slower: Emerald Rapids' core (not measured)"},
    {Vendor::kAmd, 25, 0x10, 0x1f, true,
     "(Zen 4) measured faster: bench_kernels bf16 1.3x fp32 at seq 24, 1.56x at seq 128 "
     "(docs/PERF.md, family 25 model 17)"},
    {Vendor::kAmd, 25, 0x60, 0x7f, true, "(Zen 4) taken as faster, like family 25 model 17"},
    {Vendor::kAmd, 25, 0xa0, 0xaf, true, "(Zen 4) taken as faster, like family 25 model 17"},
    {Vendor::kAmd, 26, 0x00, 0xff, true, "(Zen 5) taken as faster, like Zen 4 (not measured)"},
};

std::string cpu_label(const CpuFeatures& cpu) {
  return std::string(cpu.intel ? "Intel" : cpu.amd ? "AMD" : "x86") + " family " +
         std::to_string(cpu.family) + " model " + std::to_string(cpu.model);
}

bool matches(const AttentionRule& rule, const CpuFeatures& cpu) {
  const bool vendor = rule.vendor == Vendor::kIntel ? cpu.intel : cpu.amd;
  return vendor && cpu.family == rule.family && cpu.model >= rule.model_first &&
         cpu.model <= rule.model_last;
}

}  // namespace

Choice choose_bf16_attention(const CpuFeatures& cpu, const Ops& table, const char* attention_env) {
  const std::string no_kernel =
      std::string("the ") + isa_name(table.isa) + " table has no bf16 attention (AVX-512 tables only)";
  const std::string forced = attention_env ? attention_env : "";
  if (!forced.empty()) {
    if (forced == "fp32") return {false, "MAUM_ATTENTION=fp32"};
    if (forced != "bf16") {
      throw InvalidArgument("MAUM_ATTENTION='" + forced +
                            "' is not a known attention precision (expected fp32 or bf16)");
    }
    if (!cpu.avx512bf16) throw InvalidArgument("MAUM_ATTENTION=bf16: this CPU lacks AVX512_BF16");
    if (!table.attention_head_bf16) throw InvalidArgument("MAUM_ATTENTION=bf16: " + no_kernel);
    return {true, "MAUM_ATTENTION=bf16"};
  }
  // The scalar and portable tables never have it (and builds without x86 kernels read no cpuid,
  // so they cannot speak of the CPU).
  if (table.isa == Isa::kScalar || table.isa == Isa::kPortable) return {false, no_kernel};
  if (!cpu.avx512bf16) return {false, "CPU lacks AVX512_BF16"};
  if (!table.attention_head_bf16) return {false, no_kernel};
  for (const AttentionRule& rule : kBf16AttentionRules) {
    if (matches(rule, cpu)) return {rule.bf16, cpu_label(cpu) + " " + rule.why};
  }
  return {true, cpu_label(cpu) + " not measured: bf16, the default where AVX512_BF16 exists"};
}

}  // namespace maum::kernels

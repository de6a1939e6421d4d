// Run-time ISA selection: cpuid says what the CPU has, xgetbv says whether the OS saves the
// vector registers (AVX-512 state can be disabled by the OS even when cpuid reports it), and for
// AMX Linux must also grant the process the tile data state (amx_status). Built with MAUM_SIMD=0
// (any CPU) there is none of it: the portable and scalar tables are the only ones.
#if MAUM_SIMD
#include <cpuid.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#endif

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/kernels/table.h"
#include "maum/error.h"

namespace maum::kernels {
namespace {

#if MAUM_SIMD
uint64_t read_xcr0() {
  uint32_t eax = 0, edx = 0;
  // xgetbv without requiring -mxsave for the intrinsic.
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<uint64_t>(edx) << 32) | eax;
}

#endif

CpuFeatures detect() {
  CpuFeatures f;
#if MAUM_SIMD
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return f;
  const unsigned max_leaf = eax;
  char vendor[13] = {};
  std::memcpy(vendor, &ebx, 4);
  std::memcpy(vendor + 4, &edx, 4);
  std::memcpy(vendor + 8, &ecx, 4);
  f.amd = std::strcmp(vendor, "AuthenticAMD") == 0;
  f.intel = std::strcmp(vendor, "GenuineIntel") == 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const unsigned base_family = (eax >> 8) & 0xf, base_model = (eax >> 4) & 0xf;
  f.family = base_family == 0xf ? base_family + ((eax >> 20) & 0xff) : base_family;
  f.model = base_family == 0x6 || base_family == 0xf ? base_model | (((eax >> 16) & 0xf) << 4)
                                                      : base_model;
  const bool osxsave = ecx & (1u << 27);
  const bool avx = ecx & (1u << 28);
  const bool fma = ecx & (1u << 12);
  const bool f16c = ecx & (1u << 29);
  if (!osxsave || !avx) return f;
  const uint64_t xcr0 = read_xcr0();
  const bool os_ymm = (xcr0 & 0x6) == 0x6;            // SSE + AVX state
  const bool os_zmm = (xcr0 & 0xe6) == 0xe6;          // + opmask, ZMM_Hi256, Hi16_ZMM
  if (!os_ymm) return f;
  f.fma = fma;
  f.f16c = f16c;
  if (max_leaf < 7) return f;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  f.avx2 = ebx & (1u << 5);
  f.amx_bf16 = edx & (1u << 22);
  f.amx_tile = edx & (1u << 24);
  f.amx_int8 = edx & (1u << 25);
  f.os_tile_state = (xcr0 & (3ull << 17)) == (3ull << 17);  // XTILECFG + XTILEDATA
  if (os_zmm) {
    f.avx512f = ebx & (1u << 16);
    f.avx512dq = ebx & (1u << 17);
    f.avx512bw = ebx & (1u << 30);
    f.avx512vl = ebx & (1u << 31);
    f.avx512vnni = f.avx512f && (ecx & (1u << 11));
    const unsigned max_subleaf = eax;
    if (max_subleaf >= 1) {
      __cpuid_count(7, 1, eax, ebx, ecx, edx);
      f.avx512bf16 = f.avx512f && (eax & (1u << 5));
    }
  }
#endif
  return f;
}

#if MAUM_SIMD && defined(__linux__) && defined(SYS_arch_prctl)
// Linux (5.16 and later) starts every process without the 8 KiB tile data state: the first tile
// instruction would be killed with SIGILL until the process asks for it. The permission is per
// process (all its threads, inherited by fork), so one request is enough.
constexpr int kArchReqXcompPerm = 0x1023;  // ARCH_REQ_XCOMP_PERM, <asm/prctl.h>
constexpr int kXfeatureXtiledata = 18;     // XFEATURE_XTILEDATA
#endif

AmxStatus detect_amx() {
  AmxStatus s;
#if MAUM_SIMD
  const CpuFeatures& f = cpu_features();
  if (!f.amx_tile || (!f.amx_int8 && !f.amx_bf16)) {
    s.reason = "no AMX on this CPU: cpuid has no AMX-TILE with AMX-INT8 or AMX-BF16";
    return s;
  }
  if (!f.os_tile_state) {
    s.reason = "the OS does not enable tile state: XCR0 bits 17-18 (XTILECFG, XTILEDATA) clear";
    return s;
  }
#if defined(__linux__) && defined(SYS_arch_prctl)
  if (syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) != 0) {
    const int error = errno;  // before anything else can change it
    s.reason = std::string("the kernel refused the tile data permission: "
                           "arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA): ") +
               std::strerror(error);
    return s;
  }
  s.usable = true;
  s.int8 = f.amx_int8;
  s.bf16 = f.amx_bf16;
  s.reason = "usable";
#else
  s.reason = "no tile data permission request for this OS: Linux only";
#endif
#else
  s.reason = "built without the x86 kernels: MAUM_SIMD=OFF";
#endif
  return s;
}

Ops make_ref_ops() {
  Ops o;
  o.isa = Isa::kScalar;
  o.name = "scalar reference";
  o.gemm_f32 = ref::gemm_f32;
  o.gelu_erf = ref::gelu_erf;
  o.gelu_tanh = ref::gelu_tanh;
  o.add_layernorm = ref::add_layernorm;
  o.softmax = ref::softmax;
  o.quantize_rows_u8 = ref::quantize_rows_u8;
  o.gemm_u8s8 = ref::gemm_u8s8;
  o.packed_f32_size = ref::packed_none;
  o.pack_f32 = ref::pack_f32_none;
  o.packed_u8s8_size = ref::packed_none;
  o.pack_u8s8 = ref::pack_u8s8_none;
  o.s8_row_stats = ref::s8_row_stats;
  o.linear_f32 = ref::linear_f32;
  o.linear_u8s8 = ref::linear_u8s8;
  o.attention_head = ref::attention_head;
  o.attention_one_query = ref::attention_one_query;
  o.relu = ref::relu;
  o.tanh = ref::tanh;
  o.packed_bf16_size = ref::packed_bf16_panels_size;
  o.pack_bf16 = ref::pack_bf16_panels;
  o.linear_bf16 = ref::linear_bf16;
  o.bf16_name = "scalar reference (fp32 sums)";
  return o;
}

Ops make_ops(Isa isa) {
  Ops o = make_ref_ops();
  switch (isa) {
    case Isa::kScalar:
      break;
    case Isa::kPortable:
      fill_portable_ops(o);
      break;
#if MAUM_SIMD
    case Isa::kAvx2:
      fill_avx2_ops(o);
      break;
    case Isa::kAvx512:
      fill_avx512_ops(o);
      break;
    case Isa::kAvx512Vnni:
      fill_vnni_ops(o);
      break;
    case Isa::kAmx:
      fill_amx_ops(o);
      break;
#else
    default:
      break;  // isa_supported() is false for the x86 tables
#endif
  }
  // bf16 attention is a feature of its own (Cooper Lake, Sapphire Rapids, Zen 4 and later have
  // it; Ice Lake has VNNI without it), offered by every AVX-512 table where the CPU has it (whether
  // the engine uses it is a per-CPU choice: choose_bf16_attention).
#if MAUM_SIMD
  if ((isa == Isa::kAvx512 || isa == Isa::kAvx512Vnni || isa == Isa::kAmx) &&
      cpu_features().avx512bf16) {
    fill_bf16_attention(o);
    fill_bf16_gemm(o);
  }
  // AMX-BF16 has a cpuid bit of its own: the amx table's linear_bf16 is tdpbf16ps only where it
  // is set (otherwise the avx512vnni table's, vdpbf16ps or FMA).
  if (isa == Isa::kAmx && amx_status().bf16) fill_amx_bf16(o);
#endif
  o.isa = isa;
  return o;
}

Isa parse_isa(const std::string& text) {
  if (text == "scalar") return Isa::kScalar;
  if (text == "portable") return Isa::kPortable;
  if (text == "avx2") return Isa::kAvx2;
  if (text == "avx512") return Isa::kAvx512;
  if (text == "avx512vnni" || text == "vnni") return Isa::kAvx512Vnni;
  if (text == "amx") return Isa::kAmx;
  throw InvalidArgument(
      "MAUM_ISA='" + text +
      "' is not a known ISA (expected scalar, portable, avx2, avx512, avx512vnni or amx)");
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

const AmxStatus& amx_status() {
  static const AmxStatus status = detect_amx();  // thread-safe, once: the request is made once
  return status;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Vnni: return "avx512vnni";
    case Isa::kPortable: return "portable";
    case Isa::kAmx: return "amx";
  }
  return "unknown";
}

bool isa_supported(Isa isa) {
  const CpuFeatures& f = cpu_features();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kPortable: return true;
    case Isa::kAvx2: return avx2;
    case Isa::kAvx512: return avx512;
    case Isa::kAvx512Vnni: return avx512 && f.avx512vnni;
    // Asked last: the permission request happens only where the rest holds.
    case Isa::kAmx: return avx512 && f.avx512vnni && amx_status().usable;
  }
  return false;
}

Isa best_isa() {
  for (Isa isa : {Isa::kAmx, Isa::kAvx512Vnni, Isa::kAvx512, Isa::kAvx2}) {
    if (isa_supported(isa)) return isa;
  }
  return Isa::kPortable;
}

// Not cached: tests change MAUM_ISA between calls; ops() caches what it picked.
Isa selected_isa() {
  const char* env = std::getenv("MAUM_ISA");
  if (env == nullptr || *env == '\0') return best_isa();
  const Isa isa = parse_isa(env);
  if (!isa_supported(isa)) {
    std::string why;
    if (isa == Isa::kAmx) {
      why = amx_status().usable ? "it needs the avx512vnni table, which this CPU cannot run"
                                : amx_status().reason;
      why += "; ";
    }
    throw InvalidArgument(std::string("MAUM_ISA=") + env + ": this CPU cannot run " +
                          isa_name(isa) + " (" + why + "best available: " + isa_name(best_isa()) +
                          ")");
  }
  return isa;
}

const Ops& ops_for(Isa isa) {
  if (!isa_supported(isa)) {
    throw InvalidArgument(std::string("kernels for ") + isa_name(isa) +
                          " requested but this CPU cannot run them");
  }
  // Only the tables this CPU can run are built: an ISA's fill_* functions are compiled with its
  // flags, so the compiler may use that ISA's instructions in them too (AVX2 stores do appear in
  // fill_avx2_* today), and building them on a CPU without it would be an illegal instruction.
  auto table_if_supported = [](Isa i) { return isa_supported(i) ? make_ops(i) : Ops{}; };
  static const Ops tables[6] = {table_if_supported(Isa::kScalar), table_if_supported(Isa::kAvx2),
                                table_if_supported(Isa::kAvx512),
                                table_if_supported(Isa::kAvx512Vnni),
                                table_if_supported(Isa::kPortable), table_if_supported(Isa::kAmx)};
  return tables[static_cast<int>(isa)];
}

const Ops& ops() {
  // A function-local static: if MAUM_ISA (or MAUM_ATTENTION) is invalid the exception propagates
  // and the next call tries again (a static whose initializer throws is not considered
  // initialized).
  static const Ops selected = [] {
    Ops o = ops_for(selected_isa());
    if (!bf16_attention_choice().on) o.attention_head_bf16 = nullptr;
    return o;
  }();
  return selected;
}

const Choice& bf16_attention_choice() {
  static const Choice choice =
      choose_bf16_attention(cpu_features(), ops_for(selected_isa()), std::getenv("MAUM_ATTENTION"));
  return choice;
}

size_t attention_scratch_floats(size_t seq, size_t head_dim) {
  // fp32: K transposed [head_dim][seq] + scores of one 16-row query block [16][seq].
  // bf16: K and V as bf16 pairs (together at most dim_pad x seq 32-bit units), the scores block,
  // its probabilities as pairs [16][seq/2] and the block's queries as pairs [16][dim_pad/2,
  // rounded up to 16]. Sizes rounded up to 16 keys / 16 dims keep every part cache-line aligned.
  const size_t seq_padded = (seq + 15) / 16 * 16;
  const size_t dim_padded = (head_dim + 15) / 16 * 16;
  return (dim_padded + 32) * seq_padded + 16 * dim_padded;
}

}  // namespace maum::kernels

// Internal: the kernel table. The model composes these ops and never contains intrinsics; each ISA
// provides its own implementation in its own source files, named <isa>_<op>.cpp (ref/ref_*.cpp =
// portable scalar reference; x86/avx2_*, avx512_*, vnni_*, bf16_*, amx_*.cpp compiled with their own
// flags, the element-wise math written once for both vector widths in x86/vec_kernels.h;
// portable/portable_ops.cpp = Eigen, vectorised with whatever the baseline target has: SSE2 on
// x86-64, NEON on ARM), and the table is
// chosen once at run time from cpuid (MAUM_ISA=scalar|portable|avx2|avx512|avx512vnni|amx forces one).
// Built with MAUM_SIMD=OFF there are no x86 tables and no cpuid: portable is the best.
// All kernels are single-threaded: the engine splits work across its thread pool and calls them
// on sub-blocks. Matrices are row-major; linear weights are [N out, K in] as in PyTorch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace maum::kernels {

// kAmx: the avx512vnni table with its int8 (tdpbusd) and bf16 (tdpbf16ps) linear layers on AMX
// tiles, each where the CPU has it.
enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3, kPortable = 4, kAmx = 5 };

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false;
  bool avx512bf16 = false;  // vdpbf16ps / vcvtne2ps2bf16 (cpuid leaf 7 subleaf 1, eax bit 5)
  // AMX, as cpuid reports it (leaf 7 subleaf 0, edx bits 24 / 25 / 22), and whether the OS enables
  // tile state in XCR0 (bits 17 XTILECFG and 18 XTILEDATA). Usable only once the OS has also
  // granted this process the tile data state: see amx_status().
  bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
  bool os_tile_state = false;
  // Vendor and family/model (cpuid leaves 0 and 1, extended family/model folded in as Intel and
  // AMD document it: lscpu's "CPU family" / "Model"). Only used for microarchitecture-dependent
  // figures such as peak_ops_per_cycle (engine/kernels/peak.h) and for the choices measured per
  // CPU (choose_bf16_attention below), never to decide which instructions exist.
  bool amd = false, intel = false;
  unsigned family = 0, model = 0;
};

const CpuFeatures& cpu_features();

// Whether this process can run AMX tiles, and if not why: the CPU lacks AMX-TILE or has neither
// AMX-INT8 nor AMX-BF16, the OS does not enable tile state in XCR0, or Linux refused the tile
// data permission (arch_prctl(ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA), requested here once per
// process, before any tile instruction runs; reason then carries the errno text). reason is
// "usable" when usable. int8 / bf16: usable and the CPU has AMX-INT8 / AMX-BF16 (separate cpuid
// bits: the amx table runs each kernel only where its bit is set, the avx512vnni table's
// otherwise).
struct AmxStatus {
  bool usable = false;
  bool int8 = false, bf16 = false;
  std::string reason;
};
const AmxStatus& amx_status();

const char* isa_name(Isa isa);
// Best ISA this CPU (and OS, via xgetbv) supports.
Isa best_isa();
// best_isa(), or MAUM_ISA if set. Throws maum::InvalidArgument if MAUM_ISA names an unknown ISA
// or one this CPU cannot run.
Isa selected_isa();
bool isa_supported(Isa isa);

// Per-output-channel symmetric int8 weights, prepared at load time for the int8 GEMM.
struct QuantizedWeights {
  const int8_t* data = nullptr;      // [n, k] row-major
  const float* scale = nullptr;      // [n]: w_real = data * scale
  const int32_t* row_sum = nullptr;  // [n]: sum_k data[n][k] (zero-point compensation for u8 inputs)
  size_t n = 0, k = 0;
  // Optional copy of data in the SIMD layout, written once at load by Ops::pack_u8s8 of the table
  // that will run it (null: the SIMD kernels fall back to the reference, which reads data).
  const int8_t* packed = nullptr;
  // Every value of data is in [-64, 64] (weights quantized to 7 bits, `maum convert --quantize
  // int8 --reduce-range`), found at load, never taken from the file's word. Only the AVX2 kernel
  // reads it: u8 x s8 pairs then cannot saturate vpmaddubsw, so it skips its sign step. Results are
  // the same either way (every kernel's int32 sums are exact).
  bool narrow = false;
};

// Activation fused into a GEMM's epilogue (applied after the bias).
enum class Epilogue { kNone = 0, kGeluErf = 1, kGeluTanh = 2 };

// fp32 linear-layer weights for Ops::linear_f32.
struct LinearF32 {
  const float* w = nullptr;       // [n, k] row-major (PyTorch layout); always required
  const float* bias = nullptr;    // [n] or null
  // Optional copy of w in the SIMD layout, written once at load by Ops::pack_f32 of the table that
  // will run it (null: that table uses its unpacked path).
  const float* packed = nullptr;
  size_t n = 0, k = 0;
};

// bf16 linear-layer weights for Ops::linear_bf16 (fp32 models loaded with precision bf16): the
// fp32 weights rounded to bf16 once at load, in the table's packed layout (Ops::pack_bf16; there
// is no fp32 copy), and the fp32 bias.
struct LinearBf16 {
  const uint16_t* packed = nullptr;  // packed_bf16_size(n, k) values; always required
  const float* bias = nullptr;       // [n] or null
  size_t n = 0, k = 0;
};

// Columns per panel of the packed layouts: linear_f32 / linear_u8s8 callers that split the output
// columns across threads must split at multiples of this.
constexpr size_t kPackPanel = 16;

struct Ops {
  Isa isa = Isa::kScalar;
  const char* name = "";

  // y[m, n] (leading dim ldy) = x[m, k] (ldx) . w[n, k]^T + bias[n] (bias may be null)
  void (*gemm_f32)(const float* x, size_t ldx, const float* w, const float* bias, float* y,
                   size_t ldy, size_t m, size_t n, size_t k) = nullptr;
  // In place over n values: x = gelu(x), exact (erf) or tanh approximation.
  void (*gelu_erf)(float* x, size_t n) = nullptr;
  void (*gelu_tanh)(float* x, size_t n) = nullptr;
  // Per row of n: x = LayerNorm(x + residual) * gamma + beta (residual may be null).
  void (*add_layernorm)(float* x, const float* residual, const float* gamma, const float* beta,
                        size_t rows, size_t n, float eps) = nullptr;
  // In place, numerically stable softmax over n values.
  void (*softmax)(float* x, size_t n) = nullptr;

  // int8 path (dynamic per-row activation quantization):
  // q[m, k] = round(x / scale[m]) + 128 as u8, scale[m] = max|x_row| / 127.
  // Exactly: inv = 127.0f / max|x_row| (0 for an all-zero row), q = clamp(nearbyint(x * inv),
  // -127, 127) + 128 with round-half-to-even (the default rounding mode, what cvtps2dq does), so
  // every ISA produces bit-identical q and scale.
  void (*quantize_rows_u8)(const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale,
                           size_t m, size_t k) = nullptr;
  // y[m, n] = x_scale[m] * w.scale[n] * (sum_k q[m,k]*w[n,k] - 128 * w.row_sum[n]) + bias[n].
  // q must be in [1, 255], as quantize_rows_u8 writes it (the AVX2 kernel multiplies q - 128 by
  // the weights' signs, exact only for q - 128 >= -127); weights may be any s8.
  void (*gemm_u8s8)(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
                    const float* bias, float* y, size_t ldy, size_t m) = nullptr;

  // ---- Additions (see docs/PERF.md "Kernel API for the engine") ----
  // Weight packing, once at load. packed_*_size returns the element count to allocate (floats /
  // bytes; 0 = this table does not use a packed copy, leave LinearF32::packed /
  // QuantizedWeights::packed null). Allocate with 64-byte alignment. Packing is separable by
  // panels: rows [r, r + j·kPackPanel) of w (r a multiple of kPackPanel) packed on their own give
  // exactly the packed elements at offset packed_*_size(r, k), so the loader packs a matrix a slab
  // at a time as it reads it from the file.
  size_t (*packed_f32_size)(size_t n, size_t k) = nullptr;
  void (*pack_f32)(const float* w, size_t n, size_t k, float* packed) = nullptr;
  size_t (*packed_u8s8_size)(size_t n, size_t k) = nullptr;
  void (*pack_u8s8)(const int8_t* w, size_t n, size_t k, int8_t* packed) = nullptr;
  // What the loader needs of every s8 weight matrix w[n, k] besides its packing: sums[r] =
  // sum_k w[r][k] (QuantizedWeights::row_sum) for each of the n rows, and the largest |w| of those
  // rows as the return value (128 for -128; 0 when n or k is 0), which decides
  // QuantizedWeights::narrow. Exact in every table.
  unsigned (*s8_row_stats)(const int8_t* w, size_t n, size_t k, int32_t* sums) = nullptr;

  // y[m, n_begin:n_end] = epilogue(x[m, k] . w[n_begin:n_end, k]^T + bias): the output columns
  // [n_begin, n_end) only, so the engine can split columns across threads (n_begin must be a
  // multiple of kPackPanel; n_end is any value <= w.n). y points at column 0 of the output.
  void (*linear_f32)(const float* x, size_t ldx, const LinearF32& w, float* y, size_t ldy,
                     size_t m, size_t n_begin, size_t n_end, Epilogue epilogue) = nullptr;
  // Same for the int8 path: y = epilogue(x_scale[m] * w.scale[n] * (q . w^T - 128 * w.row_sum[n])
  // + bias[n]) over columns [n_begin, n_end).
  void (*linear_u8s8)(const uint8_t* q, size_t ldq, const float* x_scale,
                      const QuantizedWeights& w, const float* bias, float* y, size_t ldy, size_t m,
                      size_t n_begin, size_t n_end, Epilogue epilogue) = nullptr;

  // One attention head over one sequence of `seq` tokens (no mask: the caller passes that
  // sequence's real tokens only). q, k, v: [seq, head_dim] with row stride ld (e.g. slices of the
  // fused [seq, 3H] qkv output); out: [seq, head_dim] with row stride ldo.
  // out_i = sum_j softmax_j(scale * q_i . k_j) v_j. scratch: attention_scratch_floats(seq,
  // head_dim) floats, 64-byte aligned, per calling thread.
  void (*attention_head)(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                         size_t head_dim, float scale, float* out, size_t ldo,
                         float* scratch) = nullptr;
  // attention_head with Q·Kᵀ and P·V multiplying bf16-rounded operands (fp32 sums, fp32
  // softmax): twice the multiply-add rate where the CPU has AVX512_BF16, null elsewhere. The
  // engine uses it for int8 models only. Same arguments and scratch as attention_head.
  void (*attention_head_bf16)(const float* q, const float* k, const float* v, size_t ld,
                              size_t seq, size_t head_dim, float scale, float* out, size_t ldo,
                              float* scratch) = nullptr;
  // One query row q over a sequence's `seq` keys/values (rows of stride ld): the last layer's
  // [CLS] rows, the only queries whose result the head reads. out[d] = sum_j softmax_j(scale *
  // q . k_j) v_jd, with this table's softmax. scores: seq floats of the caller's scratch.
  void (*attention_one_query)(const float* q, const float* k, const float* v, size_t ld,
                              size_t seq, size_t head_dim, float scale, float* out,
                              float* scores) = nullptr;

  // In place: x = max(x, 0) (the FFN of "relu" models) and x = tanh(x) (BERT's pooler).
  void (*relu)(float* x, size_t n) = nullptr;
  void (*tanh)(float* x, size_t n) = nullptr;

  // bf16 path (fp32 models loaded with precision bf16; docs/PERF.md "bf16 linear layers").
  // Rounding, identical on every ISA (VCVTNEPS2BF16's rule, Intel SDM): a float's upper 16 bits
  // after adding 0x7fff + bit 16 as an integer (round to nearest, ties to even; finite values past
  // the largest bf16 become ±Inf); zero and subnormal floats become ±0 (sign kept); ±Inf stay;
  // NaN keeps its upper 16 bits with the quiet bit (bit 6) set. Weights are rounded once at load,
  // the activation rows once per linear_bf16 call. A product of two bf16 values is exact in fp32
  // (8 + 8 significant bits), so tables differ only in how they sum: every x86 table and the
  // reference sum each output in fp32 in one order, per k pair p = 0, 1, ...: acc += x[2p+1]·w[2p+1],
  // then acc += x[2p]·w[2p] (vdpbf16ps's order; a missing x[k], w[k] is 0), then + bias; the
  // vdpbf16ps table also flushes subnormal partial sums to zero (the instruction's FTZ).
  // Packing as packed_f32_size / pack_f32 (separable by panels, 64-byte aligned), in uint16
  // values; every table packs (there is no fp32 copy to fall back on).
  size_t (*packed_bf16_size)(size_t n, size_t k) = nullptr;
  void (*pack_bf16)(const float* w, size_t n, size_t k, uint16_t* packed) = nullptr;
  // y[m, n_begin:n_end] = epilogue(bf16(x)[m, k] . w^T + bias): linear_f32's contract (column
  // range, n_begin a multiple of kPackPanel, y at column 0), x fp32 and rounded inside.
  void (*linear_bf16)(const float* x, size_t ldx, const LinearBf16& w, float* y, size_t ldy,
                      size_t m, size_t n_begin, size_t n_end, Epilogue epilogue) = nullptr;
  const char* bf16_name = "";  // how this table computes linear_bf16 (runtime_info)
};

// Scratch floats attention_head and attention_head_bf16 need (same for every ISA).
size_t attention_scratch_floats(size_t seq, size_t head_dim);

// The table for one ISA (must be supported), with every kernel the CPU can run (what the tests
// and bench_kernels exercise); and the one the engine runs (cached): selected_isa()'s table with
// the per-CPU choices below applied (attention_head_bf16 is null where bf16 attention is off).
const Ops& ops_for(Isa isa);
const Ops& ops();

// ---- Choices made per CPU (choices.cpp; docs/PERF.md "ISA dispatch") ----
// A decision and the reason `maum --version --verbose` prints with it.
struct Choice {
  bool on = false;
  std::string reason;
};
// Whether int8 models run `table`'s attention_head_bf16 on `cpu`. MAUM_ATTENTION=fp32|bf16
// (attention_env; null or empty = unset) forces it; otherwise a table of CPUs measured (vendor,
// family, model) decides. Throws maum::InvalidArgument for another MAUM_ATTENTION value, or bf16
// where the CPU or the table has no bf16 attention.
Choice choose_bf16_attention(const CpuFeatures& cpu, const Ops& table, const char* attention_env);
// That choice for this CPU, the selected table and MAUM_ATTENTION (cached like ops()).
const Choice& bf16_attention_choice();

}  // namespace maum::kernels

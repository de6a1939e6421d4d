// Internal: the kernel table. The model composes these ops and never contains intrinsics; each ISA
// provides its own implementation in its own source file (ref/ = portable scalar reference,
// x86/avx2_*.cpp, x86/avx512_*.cpp, x86/vnni_*.cpp compiled with their own flags), and the table is
// chosen once at run time from cpuid (MAUM_ISA=scalar|avx2|avx512|avx512vnni forces one).
// All kernels are single-threaded: the engine splits work across its thread pool and calls them
// on sub-blocks. Matrices are row-major; linear weights are [N out, K in] as in PyTorch.
#pragma once
#include <cstddef>
#include <cstdint>

namespace maum::kernels {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3 };

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, avx512vnni = false;
};

const CpuFeatures& cpu_features();
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
};

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
  void (*quantize_rows_u8)(const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale,
                           size_t m, size_t k) = nullptr;
  // y[m, n] = x_scale[m] * w.scale[n] * (sum_k q[m,k]*w[n,k] - 128 * w.row_sum[n]) + bias[n]
  void (*gemm_u8s8)(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
                    const float* bias, float* y, size_t ldy, size_t m) = nullptr;
};

// The table for one ISA (must be supported), and the one selected_isa() picks (cached).
const Ops& ops_for(Isa isa);
const Ops& ops();

}  // namespace maum::kernels

// The avx512 tables' bf16 linear layer on CPUs without AVX512_BF16 (x86/vec_bf16.h): bf16
// weights widened to fp32 by shifts, fp32 FMAs, 6 rows x 64 columns (4 panels) per register tile,
// as the fp32 GEMM (avx512_gemm.cpp); x broadcasts are memory operands.
#include "engine/kernels/x86/vec_avx512.h"
#include "engine/kernels/x86/vec_bf16.h"

namespace maum::kernels {

void fill_avx512_bf16(Ops& ops) {
  using V = x86::Vec<float, x86::Avx512>;
  ops.linear_bf16 = x86::linear_bf16_fma<V, 6, 4>;
  ops.bf16_name = "avx512: bf16 widened to fp32 (shifts), FMA";
}

}  // namespace maum::kernels

// The avx2 table's fp32 linear layer: OpenBLAS's sgemm (its Haswell kernels are the right ones
// for AVX2 CPUs) on the unpacked weights, with the bias + GELU epilogue in 8-lane vectors.
#include "engine/kernels/x86/vec_avx2.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {

void fill_avx2_gemm(Ops& ops) {
  using V = x86::Vec<float, x86::Avx2>;
  ops.linear_f32 = x86::linear_f32_blas<V>;
  ops.gemm_f32 = gemm_f32_using<x86::linear_f32_blas<V>>;
}

}  // namespace maum::kernels

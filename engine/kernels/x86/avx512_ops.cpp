// The avx512 table: AVX-512 fp32 GEMM with fused epilogues (avx512_gemm.cpp), element-wise
// kernels (avx512_elementwise.cpp), attention (avx512_attention.cpp) and the bf16 linear layer
// (avx512_bf16.cpp); int8 runs the AVX2 kernel (no VNNI on such CPUs).
#include "engine/kernels/table.h"

namespace maum::kernels {

void fill_avx512_ops(Ops& ops) {
  fill_avx2_ops(ops);
  fill_avx512_gemm(ops);
  fill_avx512_elementwise(ops);
  fill_avx512_attention(ops);
  fill_avx512_bf16(ops);
  ops.name = "avx512: AVX-512 fp32 GEMM + fused epilogues, AVX2 int8 GEMM";
}

}  // namespace maum::kernels

// The avx2 table (AVX2 + FMA, no AVX-512): fp32 GEMM on weights packed at load, with fused
// epilogues (avx2_gemm.cpp), element-wise kernels (avx2_elementwise.cpp), the exact vpmaddubsw int8 GEMM
// (avx2_int8.cpp), attention (avx2_attention.cpp) and the bf16 linear layer (avx2_bf16.cpp).
#include "engine/kernels/table.h"

namespace maum::kernels {

void fill_avx2_ops(Ops& ops) {
  ops.name = "avx2: fp32 GEMM on packed weights (6 x 16 FMA tiles), int8 GEMM on |w| x a·sign(w), or q x w for 7-bit weights (vpmaddubsw, never saturating)";
  fill_avx2_gemm(ops);
  fill_avx2_elementwise(ops);
  fill_avx2_int8(ops);
  fill_avx2_attention(ops);
  fill_avx2_bf16(ops);
}

}  // namespace maum::kernels

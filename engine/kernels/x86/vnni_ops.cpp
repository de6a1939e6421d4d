// The avx512vnni table: the avx512 table with the vpdpbusd int8 GEMM (vnni_gemm.cpp).
#include "engine/kernels/table.h"

namespace maum::kernels {

void fill_vnni_ops(Ops& ops) {
  fill_avx512_ops(ops);
  fill_vnni_gemm(ops);
  ops.name = "avx512vnni: vpdpbusd int8 GEMM, AVX-512 fp32 GEMM + fused epilogues";
}

}  // namespace maum::kernels

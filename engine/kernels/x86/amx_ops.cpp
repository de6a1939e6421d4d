// The amx table: the avx512vnni table with its int8 linear layer on AMX tiles (amx_int8.cpp).
// Offered only where amx_status() says the process may use tiles (dispatch.cpp).
#include "engine/kernels/table.h"

namespace maum::kernels {

void fill_amx_ops(Ops& ops) {
  fill_vnni_ops(ops);
  fill_amx_int8(ops);
  ops.name = "amx: tdpbusd int8 GEMM on AMX tiles, AVX-512 fp32 GEMM + fused epilogues";
}

}  // namespace maum::kernels

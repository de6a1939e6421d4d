// The amx table: the avx512vnni table with its int8 linear layer on AMX tiles (amx_int8.cpp)
// where the CPU has AMX-INT8; its bf16 linear layer (amx_bf16.cpp) is added by make_ops where
// the CPU has AMX-BF16. Offered only where amx_status() says the process may use tiles
// (dispatch.cpp).
#include "engine/kernels/table.h"

namespace maum::kernels {

void fill_amx_ops(Ops& ops) {
  fill_vnni_ops(ops);
  if (amx_status().int8) {
    fill_amx_int8(ops);
    ops.name = "amx: tdpbusd int8 GEMM on AMX tiles, AVX-512 fp32 GEMM + fused epilogues";
  } else {
    ops.name = "amx: AMX-BF16 only (int8: AVX-512 VNNI), AVX-512 fp32 GEMM + fused epilogues";
  }
}

}  // namespace maum::kernels

// The avx2 table's bf16 linear layer (x86/vec_bf16.h): bf16 weights widened to fp32 by shifts,
// fp32 FMAs, 6 rows x 16 columns (one panel) per register tile: 12 accumulators in the 16 ymm
// registers (hence bf16_odd's two shifts instead of a mask constant).
#include "engine/kernels/x86/vec_avx2.h"
#include "engine/kernels/x86/vec_bf16.h"

namespace maum::kernels {

void fill_avx2_bf16(Ops& ops) {
  using V = x86::Vec<float, x86::Avx2>;
  ops.linear_bf16 = x86::linear_bf16_fma<V, 6, 2>;
  ops.packed_bf16_size = ref::packed_bf16_panels_size;
  ops.pack_bf16 = pack_bf16_panels_avx2;
  ops.bf16_name = "avx2: bf16 widened to fp32 (shifts), FMA";
}

}  // namespace maum::kernels

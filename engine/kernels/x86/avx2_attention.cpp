// AVX2 attention for one head of one sequence: x86/vec_kernels.h's attention_head on 8-lane
// vectors, tiles of up to 4 query rows x 2 registers (16 keys) for the scores and x 3 registers
// (24 dims) for P·V.
#include "engine/kernels/x86/vec_avx2.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {

void fill_avx2_attention(Ops& ops) {
  ops.attention_head = x86::attention_head<x86::Vec<float, x86::Avx2>, 2, 3>;
}

}  // namespace maum::kernels

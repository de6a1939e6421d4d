// AVX-512 attention for one head of one sequence: x86/vec_kernels.h's attention_head on 16-lane
// vectors (K transposed in 16x16 register blocks), tiles of up to 4 query rows x 4 registers (64
// keys or 64 dims).
#include "engine/kernels/x86/vec_avx512.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {

void fill_avx512_attention(Ops& ops) {
  ops.attention_head = x86::attention_head<x86::Vec<float, x86::Avx512>, 4, 4>;
}

}  // namespace maum::kernels

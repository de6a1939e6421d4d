// The avx2 table's element-wise kernels (GELU, softmax, residual + LayerNorm, u8 quantization):
// x86/vec_kernels.h on 8-lane vectors.
#include "engine/kernels/x86/vec_avx2.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {

void fill_avx2_elementwise(Ops& ops) { x86::fill_elementwise<x86::Vec<float, x86::Avx2>>(ops); }

}  // namespace maum::kernels

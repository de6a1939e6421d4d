// The AVX-512 tables' element-wise kernels (GELU, softmax, residual + LayerNorm, u8
// quantization): x86/vec_kernels.h on 16-lane vectors.
#include "engine/kernels/x86/vec_avx512.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {

void fill_avx512_elementwise(Ops& ops) { x86::fill_elementwise<x86::Vec<float, x86::Avx512>>(ops); }

}  // namespace maum::kernels

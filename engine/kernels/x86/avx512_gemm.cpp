// AVX-512 fp32 linear layer on weights packed once at load ([n/16][k][16] panels,
// x86/vec_f32_packed.h): a 6-row x 64-column register tile (24 zmm accumulators), K blocked at
// 768 so a 6-row block of x stays in L1 and the 64-column weight slab (192 KiB) in L2 while every
// row block streams past it (192/384 measured slower, most with cold weights), rows in one chunk,
// no software prefetch (as it was tuned on Zen 4/5), and the bias + GELU epilogue applied to the tile
// while it is still in registers. Unpacked weights go to x86::linear_f32_rows.
#include "engine/kernels/table.h"
#include "engine/kernels/x86/vec_avx512.h"
#include "engine/kernels/x86/vec_f32_packed.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {
namespace {

using V = x86::Vec<float, x86::Avx512>;
constexpr auto linear_f32 = x86::linear_f32_packed<V, 6, 4, 768, 0, false>;

}  // namespace

void fill_avx512_gemm(Ops& ops) {
  ops.gemm_f32 = gemm_f32_using<linear_f32>;
  ops.linear_f32 = linear_f32;
  ops.packed_f32_size = ref::packed_f32_panels_size;
  ops.pack_f32 = pack_f32_panels_avx2;
}

}  // namespace maum::kernels

// The avx2 table's fp32 linear layer (x86/vec_f32_packed.h): weights packed once at load into
// 16-column panels, 6 rows x 16 columns per register tile (12 accumulators + 2 weight vectors + 1
// broadcast of the 16 ymm registers), K blocks of 768 (256 measured slower on Zen 3), rows in
// chunks of at most 384 KiB of x (128 rows: one sentence is one chunk, a long batch is cut so that
// its x stays in L2), the next panel prefetched while a chunk's first row tile runs, bias + GELU
// applied to the tile in registers.
#include "engine/kernels/x86/vec_avx2.h"
#include "engine/kernels/x86/vec_f32_packed.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels {
void fill_avx2_gemm(Ops& ops) {
  using V = x86::Vec<float, x86::Avx2>;
  ops.linear_f32 = x86::linear_f32_packed<V, 6, 2, 768, 384 * 1024, true>;
  ops.gemm_f32 = gemm_f32_using<x86::linear_f32_rows<V>>;
  ops.packed_f32_size = ref::packed_f32_panels_size;
  ops.pack_f32 = pack_f32_panels_avx2;
}

}  // namespace maum::kernels

// Table entries with a avx2 version (the rest stay the scalar reference).
#include "engine/kernels/table.h"

namespace maum::kernels {

void fill_avx2_ops(Ops& ops) {
  ops.name = "avx2";
}

}  // namespace maum::kernels

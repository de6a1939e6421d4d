// Table entries with a avx512 version (the rest stay the scalar reference).
#include "engine/kernels/table.h"

namespace maum::kernels {

void fill_avx512_ops(Ops& ops) {
  ops.name = "avx512";
}

}  // namespace maum::kernels

// Table entries with a vnni version (the rest stay the scalar reference).
#include "engine/kernels/table.h"

namespace maum::kernels {

void fill_vnni_ops(Ops& ops) {
  ops.name = "vnni";
}

}  // namespace maum::kernels

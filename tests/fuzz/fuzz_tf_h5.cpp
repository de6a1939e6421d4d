// libFuzzer target: the tf_model.h5 reader (convert/src/tf_h5) on an HDF5 file image in memory
// (libhdf5's core driver): attributes layer_names / weight_names (fixed, variable and split
// lists), groups, datasets, their types, shapes and reads. The only acceptable failure is
// maum::Error; every tensor returned must hold exactly numel x 4 bytes (F32), and the budget
// (64 MB) must hold whatever the file claims.
#include <cstddef>
#include <cstdint>
#include <string>

#include "convert/src/tf_h5.h"
#include "maum/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr uint64_t kBudget = 64u << 20;
  try {
    uint64_t total = 0;
    for (const auto& [name, t] : maum::convert::load_tf_h5_bytes(data, size, "fuzz.h5", kBudget)) {
      if (t.dtype != maum::core::DType::F32) __builtin_trap();
      uint64_t n = sizeof(float);
      for (int64_t d : t.shape) {
        if (d < 0) __builtin_trap();
        n *= static_cast<uint64_t>(d);
      }
      if (n != t.bytes.size()) __builtin_trap();
      total += n;
    }
    if (total > kBudget) __builtin_trap();
  } catch (const maum::Error&) {
  }
  return 0;
}

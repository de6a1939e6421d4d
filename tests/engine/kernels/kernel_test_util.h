// Test helper shared by the kernel tests (kernels_test.cpp, bf16_kernels_test.cpp): random data,
// 64-byte aligned buffers for packed weights, the tables to check and the scalar reference.
#pragma once
#include <cstdlib>
#include <random>
#include <vector>

#include "engine/kernels/kernels.h"

namespace maum::kernels {
namespace {

std::vector<float> random_floats(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// Aligned buffer for packed weights.
template <typename T>
struct Aligned {
  explicit Aligned(size_t count)
      : ptr(static_cast<T*>(std::aligned_alloc(64, (count * sizeof(T) + 63) / 64 * 64 + 64))) {}
  ~Aligned() { std::free(ptr); }
  Aligned(const Aligned&) = delete;
  Aligned& operator=(const Aligned&) = delete;
  T* ptr;
};

std::vector<Isa> simd_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kPortable, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAmx}) {
    if (isa_supported(isa)) out.push_back(isa);
  }
  return out;
}

const Ops& ref() { return ops_for(Isa::kScalar); }

}  // namespace
}  // namespace maum::kernels

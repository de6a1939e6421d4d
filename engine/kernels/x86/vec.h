// Internal to the x86 kernel files: the vector abstraction the element-wise algorithms
// (x86/vec_kernels.h) are written against once, for every vector width.
//
// Vec<float, Tag> is specialised per ISA in x86/vec_avx2.h (8 lanes) and x86/vec_avx512.h
// (16 lanes); each of those headers may only be included by translation units compiled with that
// ISA's flags (they #error otherwise). The tag types live in an unnamed namespace, so every
// instantiation (Vec's members and each algorithm instantiated on it) has internal linkage: the
// linker can never substitute a copy compiled with one ISA's flags for another's, and no
// intrinsic, flag or vector type leaves these files.
//
// What a Vec<float, Tag> provides (all static, all inline):
//   reg, mask, width               the register and lane-mask types, lanes per register
//   zero, set1, load, store, broadcast; load(p, m) (masked lanes read as 0), store(p, m, v)
//   tail_mask(count)               the first min(count, width) lanes
//   add, sub, mul, div, min, max, fmadd(a, b, c) = a·b + c, fnmadd(a, b, c) = c - a·b
//   select(m, a, b)                a where m, b elsewhere; zero_unless(m, a) = select(m, a, 0)
//   round_nearest, scale_pow2(p, n) = p·2^n (n integral), kExpMax (largest x exp() keeps)
//   abs, unordered(a) (all-ones lanes where a is NaN), any(a) (a lane has its sign bit set)
//   hsum, hmax                     horizontal sum / max of the lanes
//   store_u8(q, v), store_u8(q, count, v)   v (already clamped to [-127, 127]) rounded half to
//                                  even, + 128, narrowed to bytes: width bytes, or the first count
//   kHasTranspose, transpose(r[width])  width x width transpose in registers (or kHasTranspose
//                                  false: transpose_keys copies element by element)
#pragma once
#include <cstddef>
#include <type_traits>

namespace maum::kernels::x86 {

template <typename T, typename IsaTag>
struct Vec;

// Register tiles are templates on their row count: calls fn(std::integral_constant<int, R>{}, r)
// for groups of 4 rows over [0, rows), then once for the 1..3 rows left.
template <typename Fn>
inline void for_row_groups(size_t rows, Fn&& fn) {
  size_t r = 0;
  for (; r + 4 <= rows; r += 4) fn(std::integral_constant<int, 4>{}, r);
  switch (rows - r) {
    case 1: fn(std::integral_constant<int, 1>{}, r); break;
    case 2: fn(std::integral_constant<int, 2>{}, r); break;
    case 3: fn(std::integral_constant<int, 3>{}, r); break;
    default: break;
  }
}

// Tiles are templates on their row / column-chunk counts: calls fn(std::integral_constant<int,
// C>{}) with C = min(n, Max), for n >= 1 (callers loop over non-empty ranges).
template <int Max, typename Fn>
inline void with_count(size_t n, Fn&& fn) {
  static_assert(Max >= 1, "a tile has at least one row and one chunk");
  if constexpr (Max == 1) {
    fn(std::integral_constant<int, 1>{});
  } else if (n >= size_t(Max)) {
    fn(std::integral_constant<int, Max>{});
  } else {
    with_count<Max - 1>(n, fn);
  }
}

}  // namespace maum::kernels::x86

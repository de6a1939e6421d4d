// Internal, AVX2 translation units only (x86/avx2_*.cpp, compiled with -mavx2 -mfma -mf16c):
// Vec<float, Avx2>, 8 floats in a ymm register (see x86/vec.h for the interface).
#pragma once
#if !defined(__AVX2__) || !defined(__FMA__) || defined(__AVX512F__)
#error "vec_avx2.h belongs to the AVX2 kernel files (x86/avx2_*.cpp) only"
#endif
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "engine/kernels/x86/vec.h"

namespace maum::kernels::x86 {
namespace {
struct Avx2 {};  // per translation unit: see x86/vec.h
}  // namespace

template <>
struct Vec<float, Avx2> {
  using reg = __m256;
  using mask = __m256i;  // all-ones lanes, what vmaskmovps reads
  static constexpr size_t width = 8;
  // 2^n is built in the exponent field (n + 127 <= 254): e^88.0 still fits, e^88.7 would not.
  static constexpr float kExpMax = 88.0f;
  static constexpr bool kHasTranspose = true;

  static reg zero() { return _mm256_setzero_ps(); }
  static reg set1(float v) { return _mm256_set1_ps(v); }
  static reg broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static reg load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, reg v) { _mm256_storeu_ps(p, v); }
  static reg load(const float* p, mask m) { return _mm256_maskload_ps(p, m); }
  // vmaskmovps to memory costs ~17 cycles on AMD Zen 3 (one plain store: 1), so a whole
  // register goes out as a plain store and only a real tail as a masked one.
  static void store(float* p, mask m, reg v) {
    if (_mm256_movemask_ps(_mm256_castsi256_ps(m)) == 0xff) {
      _mm256_storeu_ps(p, v);
    } else {
      _mm256_maskstore_ps(p, m, v);
    }
  }
  static mask tail_mask(size_t count) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count < 8 ? count : 8)), lanes);
  }

  static reg add(reg a, reg b) { return _mm256_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm256_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm256_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm256_div_ps(a, b); }
  static reg min(reg a, reg b) { return _mm256_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm256_max_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm256_fmadd_ps(a, b, c); }
  static reg fnmadd(reg a, reg b, reg c) { return _mm256_fnmadd_ps(a, b, c); }
  static reg select(mask m, reg a, reg b) { return _mm256_blendv_ps(b, a, _mm256_castsi256_ps(m)); }
  static reg zero_unless(mask m, reg a) { return _mm256_and_ps(a, _mm256_castsi256_ps(m)); }

  static reg round_nearest(reg x) {
    return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static reg scale_pow2(reg p, reg n) {
    const __m256i pow2n =
        _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(pow2n));
  }
  static reg abs(reg a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
  static reg unordered(reg a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static reg bit_or(reg a, reg b) { return _mm256_or_ps(a, b); }
  static bool any(reg a) { return _mm256_movemask_ps(a) != 0; }

  static float hsum(reg v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static float hmax(reg v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  // r[i][j] <- r[j][i] for 8 rows of 8 lanes: pairs, 4-lane groups, then 128-bit halves.
  static void transpose(reg r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int g = 0; g < 8; g += 4) {
      u[g] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44);
      u[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xee);
      u[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44);
      u[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xee);
    }
    for (int c = 0; c < 4; ++c) {
      r[c] = _mm256_permute2f128_ps(u[c], u[c + 4], 0x20);
      r[c + 4] = _mm256_permute2f128_ps(u[c], u[c + 4], 0x31);
    }
  }

  // 8 int32 in 0..255 packed into the low 8 bytes of an xmm register.
  static __m128i to_u8(reg v) {
    const __m256i qi = _mm256_add_epi32(_mm256_cvtps_epi32(round_nearest(v)), _mm256_set1_epi32(128));
    const __m128i w16 = _mm_packus_epi32(_mm256_castsi256_si128(qi), _mm256_extracti128_si256(qi, 1));
    return _mm_packus_epi16(w16, w16);
  }
  static void store_u8(uint8_t* q, reg v) { _mm_storel_epi64(reinterpret_cast<__m128i*>(q), to_u8(v)); }
  static void store_u8(uint8_t* q, size_t count, reg v) {
    alignas(16) uint8_t bytes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(bytes), to_u8(v));
    std::memcpy(q, bytes, count < 8 ? count : 8);
  }
};

}  // namespace maum::kernels::x86

// Internal, AVX-512 translation units only (x86/avx512_*.cpp, x86/vnni_*.cpp, x86/bf16_*.cpp,
// compiled with -mavx512f -mavx512bw -mavx512vl -mavx512dq and more): Vec<float, Avx512>, 16
// floats in a zmm register (see x86/vec.h for the interface).
#pragma once
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || !defined(__FMA__)
#error "vec_avx512.h belongs to the AVX-512 kernel files (x86/avx512_*, vnni_*, bf16_*) only"
#endif
#include <immintrin.h>

#include <cstdint>

#include "engine/kernels/x86/vec.h"

namespace maum::kernels::x86 {
namespace {
struct Avx512 {};  // per translation unit: see x86/vec.h
}  // namespace

template <>
struct Vec<float, Avx512> {
  using reg = __m512;
  using mask = __mmask16;
  static constexpr size_t width = 16;
  // 2^n via vscalefps, which covers n = 128 too.
  static constexpr float kExpMax = 88.7f;
  static constexpr bool kHasTranspose = true;

  static reg zero() { return _mm512_setzero_ps(); }
  static reg set1(float v) { return _mm512_set1_ps(v); }
  static reg broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static reg load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, reg v) { _mm512_storeu_ps(p, v); }
  static reg load(const float* p, mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, mask m, reg v) { _mm512_mask_storeu_ps(p, m, v); }
  static mask tail_mask(size_t count) {
    return count >= 16 ? static_cast<__mmask16>(0xffff)
                       : static_cast<__mmask16>((1u << count) - 1u);
  }

  static reg add(reg a, reg b) { return _mm512_add_ps(a, b); }
  static reg sub(reg a, reg b) { return _mm512_sub_ps(a, b); }
  static reg mul(reg a, reg b) { return _mm512_mul_ps(a, b); }
  static reg div(reg a, reg b) { return _mm512_div_ps(a, b); }
  static reg min(reg a, reg b) { return _mm512_min_ps(a, b); }
  static reg max(reg a, reg b) { return _mm512_max_ps(a, b); }
  static reg fmadd(reg a, reg b, reg c) { return _mm512_fmadd_ps(a, b, c); }
  static reg fnmadd(reg a, reg b, reg c) { return _mm512_fnmadd_ps(a, b, c); }
  static reg select(mask m, reg a, reg b) { return _mm512_mask_blend_ps(m, b, a); }
  static reg zero_unless(mask m, reg a) { return _mm512_maskz_mov_ps(m, a); }

  static reg round_nearest(reg x) {
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static reg scale_pow2(reg p, reg n) { return _mm512_scalef_ps(p, n); }
  static reg abs(reg a) { return _mm512_abs_ps(a); }
  static reg unordered(reg a) {
    return _mm512_castsi512_ps(_mm512_movm_epi32(_mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q)));
  }
  static reg bit_or(reg a, reg b) { return _mm512_or_ps(a, b); }
  static bool any(reg a) { return _mm512_movepi32_mask(_mm512_castps_si512(a)) != 0; }

  static float hsum(reg v) { return _mm512_reduce_add_ps(v); }
  static float hmax(reg v) { return _mm512_reduce_max_ps(v); }

  // The conversion rounds half to even itself (embedded rounding, whatever MXCSR says).
  static __m512i to_u8_lanes(reg v) {
    return _mm512_add_epi32(_mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                            _mm512_set1_epi32(128));
  }
  // Narrow in registers and store 16 bytes (vpmovdb to memory is slow on some cores, e.g. Zen 4).
  static void store_u8(uint8_t* q, reg v) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q), _mm512_cvtepi32_epi8(to_u8_lanes(v)));
  }
  static void store_u8(uint8_t* q, size_t count, reg v) {
    _mm512_mask_cvtepi32_storeu_epi8(q, tail_mask(count), to_u8_lanes(v));
  }

  // r[i][j] <- r[j][i] for 16 rows of 16 32-bit lanes: unpack pairs, then 4-lane groups, then
  // 128-bit quarters twice (64 shuffles instead of 256 scalar moves).
  static void transpose(reg r[16]) {
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    // r[4g + c] = rows 4g..4g+3 at columns c, c+4, c+8, c+12 (one per 128-bit quarter).
    for (int g = 0; g < 16; g += 4) {
      r[g] = _mm512_shuffle_ps(t[g], t[g + 2], 0x44);
      r[g + 1] = _mm512_shuffle_ps(t[g], t[g + 2], 0xee);
      r[g + 2] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0x44);
      r[g + 3] = _mm512_shuffle_ps(t[g + 1], t[g + 3], 0xee);
    }
    for (int c = 0; c < 4; ++c) {
      t[c] = _mm512_shuffle_f32x4(r[c], r[c + 4], 0x88);
      t[c + 4] = _mm512_shuffle_f32x4(r[c], r[c + 4], 0xdd);
      t[c + 8] = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0x88);
      t[c + 12] = _mm512_shuffle_f32x4(r[c + 8], r[c + 12], 0xdd);
    }
    for (int c = 0; c < 8; ++c) {
      r[c] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0x88);
      r[c + 8] = _mm512_shuffle_f32x4(t[c], t[c + 8], 0xdd);
    }
  }
};

}  // namespace maum::kernels::x86

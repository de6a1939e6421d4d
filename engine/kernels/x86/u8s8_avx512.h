// Internal, AVX-512 translation units only (x86/vnni_gemm.cpp, x86/amx_int8.cpp): the int8
// linear layer's epilogue over 16 output columns, written once so that every kernel whose int32
// sums are exact (vpdpbusd, tdpbusd) gives bit-identical outputs:
//   y = epilogue(x_scale · w_scale · (acc − 128·row_sum) + bias)
// with the zero point removed in int32 and the float operations in the reference's order
// (ref_int8.cpp), each rounded on its own (the kernels are compiled with -ffp-contract=off).
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "engine/kernels/kernels.h"
#include "engine/kernels/x86/vec_avx512.h"
#include "engine/kernels/x86/vec_kernels.h"

namespace maum::kernels::x86 {

// The per-column constants of 16 columns (lanes past `mask` read as 0).
struct U8s8Columns {
  __m512i zero_point;  // 128·row_sum
  __m512 w_scale, bias;
  bool has_bias;
  __mmask16 mask;

  static U8s8Columns load(__mmask16 mask, const int32_t* row_sum, const float* w_scale,
                          const float* bias) {
    U8s8Columns c;
    c.mask = mask;
    c.zero_point = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(mask, row_sum), 7);
    c.w_scale = _mm512_maskz_loadu_ps(mask, w_scale);
    c.has_bias = bias != nullptr;
    c.bias = bias ? _mm512_maskz_loadu_ps(mask, bias) : _mm512_setzero_ps();
    return c;
  }

  // One row: y[0, 16) (the masked lanes only) from that row's int32 sums.
  void store(float* y, __m512i acc, float x_scale, Epilogue kind) const {
    using V = Vec<float, Avx512>;
    const __m512 real = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc, zero_point));
    // (x_scale · w_scale) · acc + bias, in the reference's order.
    const __m512 s = _mm512_mul_ps(_mm512_set1_ps(x_scale), w_scale);
    __m512 v = _mm512_mul_ps(s, real);
    if (has_bias) v = _mm512_add_ps(v, bias);
    _mm512_mask_storeu_ps(y, mask, epilogue<V>(v, kind));
  }
};

}  // namespace maum::kernels::x86

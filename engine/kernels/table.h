// Internal to engine/kernels: how dispatch.cpp assembles the per-ISA tables. Each ISA's source
// files export one fill_*_ops() that overwrites the entries that ISA has a faster version of; the
// rest stay the scalar reference, so every table is fully populated.
#pragma once
#include "engine/kernels/kernels.h"

namespace maum::kernels {

namespace ref {
// Panels of kPackPanel columns that n columns fill (the last one zero-padded): every packed
// layout's count.
inline size_t panels_of(size_t n) { return (n + kPackPanel - 1) / kPackPanel; }
void gemm_f32(const float* x, size_t ldx, const float* w, const float* bias, float* y, size_t ldy,
              size_t m, size_t n, size_t k);
void gelu_erf(float* x, size_t n);
void gelu_tanh(float* x, size_t n);
void add_layernorm(float* x, const float* residual, const float* gamma, const float* beta,
                   size_t rows, size_t n, float eps);
void softmax(float* x, size_t n);
void quantize_rows_u8(const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale, size_t m,
                      size_t k);
void gemm_u8s8(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
               const float* bias, float* y, size_t ldy, size_t m);
unsigned s8_row_stats(const int8_t* w, size_t n, size_t k, int32_t* sums);
size_t packed_none(size_t n, size_t k);
void pack_f32_none(const float* w, size_t n, size_t k, float* packed);
void pack_u8s8_none(const int8_t* w, size_t n, size_t k, int8_t* packed);
void linear_f32(const float* x, size_t ldx, const LinearF32& w, float* y, size_t ldy, size_t m,
                size_t n_begin, size_t n_end, Epilogue epilogue);
void linear_u8s8(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
                 const float* bias, float* y, size_t ldy, size_t m, size_t n_begin, size_t n_end,
                 Epilogue epilogue);
void attention_head(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                    size_t head_dim, float scale, float* out, size_t ldo, float* scratch);
// attention_head with q, k, the probabilities and v rounded to bf16 (what the AVX512_BF16 kernel
// multiplies), sums in double: the reference for Ops::attention_head_bf16. Not in any table.
void attention_head_bf16(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                         size_t head_dim, float scale, float* out, size_t ldo, float* scratch);
float round_to_bf16(float x);  // from_bf16(to_bf16(x)): the rounding rule of kernels.h
void attention_one_query(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                         size_t head_dim, float scale, float* out, float* scores);
// attention_one_query with another table's softmax (what each ISA's entry calls: the dot
// products are plain code, the softmax is the table's).
void attention_one_query_with(void (*softmax)(float* x, size_t n), const float* q,
                              const float* k, const float* v, size_t ld, size_t seq,
                              size_t head_dim, float scale, float* out, float* scores);
void relu(float* x, size_t n);
void tanh(float* x, size_t n);
// Applies an epilogue to n values in place.
void apply_epilogue(float* y, size_t n, Epilogue epilogue);

// The shared SIMD weight layouts (x86 kernels read them; packing itself is plain code).
// f32: panels of kPackPanel columns, [n/16][k][16] floats, last panel zero-padded.
size_t packed_f32_panels_size(size_t n, size_t k);
void pack_f32_panels(const float* w, size_t n, size_t k, float* packed);
// u8s8: panels of 16 columns, k in groups of 4 interleaved: [n/16][k/4][16][4] bytes, zero-padded
// in n and k (what vpdpbusd consumes; the AVX2 kernel widens the same bytes).
size_t packed_u8s8_panels_size(size_t n, size_t k);
inline size_t u8s8_panels_k_pad(size_t k) { return (k + 3) / 4 * 4; }
// One panel of that layout (padded to k_pad, a multiple of 4) from its groups of 4 k at kg_begin
// on: rows (<= kPackPanel) rows of w, row stride k, into the panel's start. What the packings
// below run per panel, and what a SIMD packing runs for the groups it leaves.
void pack_u8s8_panel_groups(const int8_t* w, size_t rows, size_t k, size_t k_pad, size_t kg_begin,
                            int8_t* panel);
void pack_u8s8_panels(const int8_t* w, size_t n, size_t k, int8_t* packed);
// u8s8 for AMX tiles: the same layout with k zero-padded to a multiple of 64, so that every 64 k
// of a panel are one whole B tile (16 rows of 16 columns x 4 k = 64 bytes).
size_t packed_u8s8_tiles_size(size_t n, size_t k);
inline size_t u8s8_tiles_k_pad(size_t k) { return (k + 63) / 64 * 64; }
void pack_u8s8_tiles(const int8_t* w, size_t n, size_t k, int8_t* packed);
// bf16 (the rounding rule is stated in kernels.h above Ops::packed_bf16_size): to_bf16 rounds,
// from_bf16 widens exactly (the 16 bits become a float's upper half).
uint16_t to_bf16(float x);
float from_bf16(uint16_t b);
// The bf16 weight layout of every table: panels of kPackPanel columns, k in pairs,
// [n/16][(k+1)/2][16][2] uint16 zero-padded in n and k: each 32-bit unit is one column's
// (w[2p], w[2p+1]), what vdpbf16ps multiplies (and AMX-BF16's B tiles hold). The reference
// linear_bf16 reads it too.
size_t packed_bf16_panels_size(size_t n, size_t k);
inline size_t bf16_panel_pairs(size_t k) { return (k + 1) / 2; }  // k pairs per panel
void pack_bf16_panels(const float* w, size_t n, size_t k, uint16_t* packed);
// bf16 for AMX tiles: the same layout with k zero-padded to a multiple of 32, so that every 16
// pairs of a panel are one whole B tile (16 rows of 16 columns x 2 bf16 = 64 bytes).
size_t packed_bf16_tiles_size(size_t n, size_t k);
inline size_t bf16_tile_pairs(size_t k) { return (k + 31) / 32 * 16; }
void pack_bf16_tiles(const float* w, size_t n, size_t k, uint16_t* packed);
// One panel of either layout (`pairs` k pairs) from pair pair_begin on: rows (<= kPackPanel) rows
// of w, row stride k, into the panel's start (what the packings above run per panel, and what a
// SIMD packing runs for the pairs it leaves).
void pack_bf16_panel_pairs(const float* w, size_t rows, size_t k, size_t pairs, size_t pair_begin,
                           uint16_t* panel);
void linear_bf16(const float* x, size_t ldx, const LinearBf16& w, float* y, size_t ldy, size_t m,
                 size_t n_begin, size_t n_end, Epilogue epilogue);
}  // namespace ref

// A table's attention_one_query with its own softmax: ops.attention_one_query =
// attention_one_query_using<that_file's_softmax>.
template <void (*Softmax)(float* x, size_t n)>
void attention_one_query_using(const float* q, const float* k, const float* v, size_t ld,
                               size_t seq, size_t head_dim, float scale, float* out,
                               float* scores) {
  ref::attention_one_query_with(Softmax, q, k, v, ld, seq, head_dim, scale, out, scores);
}

// A table's gemm_f32 through its own linear_f32 (all columns, no epilogue).
template <void (*Linear)(const float* x, size_t ldx, const LinearF32& w, float* y, size_t ldy,
                         size_t m, size_t n_begin, size_t n_end, Epilogue epilogue)>
void gemm_f32_using(const float* x, size_t ldx, const float* w, const float* bias, float* y,
                    size_t ldy, size_t m, size_t n, size_t k) {
  LinearF32 lw;
  lw.w = w;
  lw.bias = bias;
  lw.n = n;
  lw.k = k;
  Linear(x, ldx, lw, y, ldy, m, 0, n, Epilogue::kNone);
}

// An int8 kernel on a packed copy of the weights, as each SIMD table sets it: linear_u8s8
// (with the reference, which reads data, where the loader packed nothing: QuantizedWeights::
// packed null), gemm_u8s8 (all columns, no epilogue) and the packing (one of the shared u8s8
// layouts).
using LinearU8S8 = void (*)(const uint8_t* q, size_t ldq, const float* x_scale,
                            const QuantizedWeights& w, const float* bias, float* y, size_t ldy,
                            size_t m, size_t n_begin, size_t n_end, Epilogue epilogue);
template <LinearU8S8 Packed>
void linear_u8s8_packed_or_reference(const uint8_t* q, size_t ldq, const float* x_scale,
                                     const QuantizedWeights& w, const float* bias, float* y,
                                     size_t ldy, size_t m, size_t n_begin, size_t n_end,
                                     Epilogue epilogue) {
  if (w.packed == nullptr) {
    ref::linear_u8s8(q, ldq, x_scale, w, bias, y, ldy, m, n_begin, n_end, epilogue);
    return;
  }
  Packed(q, ldq, x_scale, w, bias, y, ldy, m, n_begin, n_end, epilogue);
}
template <LinearU8S8 Linear>
void gemm_u8s8_using(const uint8_t* q, size_t ldq, const float* x_scale, const QuantizedWeights& w,
                     const float* bias, float* y, size_t ldy, size_t m) {
  Linear(q, ldq, x_scale, w, bias, y, ldy, m, 0, w.n, Epilogue::kNone);
}
template <LinearU8S8 Packed>
void set_linear_u8s8(Ops& ops, size_t (*packed_size)(size_t n, size_t k),
                     void (*pack)(const int8_t* w, size_t n, size_t k, int8_t* packed)) {
  ops.linear_u8s8 = linear_u8s8_packed_or_reference<Packed>;
  ops.gemm_u8s8 = gemm_u8s8_using<linear_u8s8_packed_or_reference<Packed>>;
  ops.packed_u8s8_size = packed_size;
  ops.pack_u8s8 = pack;
}

// Every fill_*: fill_<isa>_ops(ops) assembles a whole table (in <isa>_ops.cpp, from the scalar
// reference make_ops() starts with); fill_<isa>_<op>(ops) sets one file's entries (in
// <isa>_<op>.cpp, compiled with that ISA's flags). Kernel files are named <isa>_<op>.cpp
// throughout: ref/ref_*, portable/portable_*, x86/{avx2,avx512,vnni,bf16,amx}_*.
void fill_portable_ops(Ops& ops);  // portable/ (Eigen), every build
void fill_avx2_ops(Ops& ops);      // x86/avx2_ops.cpp, from:
void fill_avx2_gemm(Ops& ops);
void fill_avx2_elementwise(Ops& ops);
void fill_avx2_int8(Ops& ops);
void fill_avx2_attention(Ops& ops);
void fill_avx512_ops(Ops& ops);    // x86/avx512_ops.cpp: the avx2 table, then:
void fill_avx512_gemm(Ops& ops);
void fill_avx512_elementwise(Ops& ops);
void fill_avx512_attention(Ops& ops);
void fill_vnni_ops(Ops& ops);      // x86/vnni_ops.cpp: the avx512 table, then:
void fill_vnni_gemm(Ops& ops);
void fill_bf16_attention(Ops& ops);  // x86/bf16_attention.cpp, only where the CPU has AVX512_BF16
void fill_amx_ops(Ops& ops);       // x86/amx_ops.cpp: the avx512vnni table, then:
void fill_amx_int8(Ops& ops);       // only where amx_status().int8
void fill_amx_bf16(Ops& ops);       // x86/amx_bf16.cpp, only where amx_status().bf16 (after
                                    // fill_bf16_gemm, which it replaces)
// linear_bf16: x86/avx2_bf16.cpp, x86/avx512_bf16.cpp (fp32 FMAs on widened bf16), and
// x86/bf16_gemm.cpp (vdpbf16ps, only where the CPU has AVX512_BF16).
void fill_avx2_bf16(Ops& ops);
void fill_avx512_bf16(Ops& ops);
void fill_bf16_gemm(Ops& ops);
// The reference's packings byte for byte, and Ops::s8_row_stats, with AVX2 (x86/avx2_pack.cpp):
// the load-time weight work of every x86 table.
unsigned s8_row_stats_avx2(const int8_t* w, size_t n, size_t k, int32_t* sums);
void pack_f32_panels_avx2(const float* w, size_t n, size_t k, float* packed);
void pack_u8s8_panels_avx2(const int8_t* w, size_t n, size_t k, int8_t* packed);
void pack_u8s8_tiles_avx2(const int8_t* w, size_t n, size_t k, int8_t* packed);
void pack_bf16_panels_avx2(const float* w, size_t n, size_t k, uint16_t* packed);
void pack_bf16_tiles_avx2(const float* w, size_t n, size_t k, uint16_t* packed);

}  // namespace maum::kernels

// Internal to the x86 kernel files: the element-wise kernels and the attention head, written once
// against Vec<float, Tag> (x86/vec.h) and instantiated by each ISA's files with its own Vec (include
// x86/vec_avx2.h or x86/vec_avx512.h first). The approximations are the scalar reference's twins
// under the budgets of tests/engine/kernels/kernels_test.cpp:
//   exp   Cephes-style: x = n·ln2 + r, degree-6 polynomial on r, times 2^n. ~2 ulp.
//   erf   rational approximation on [-4, 4] (the one Eigen and XLA use), |error| ~ 1e-7.
//   GELU  0.5·x·(1 + erf(x/√2)); tanh form as x·(1 - 1/(1 + e^{2u})), u = √(2/π)(x + 0.044715x³).
//   softmax, LayerNorm: float sums per lane, then the lanes' horizontal sum.
#pragma once
#include <array>
#include <cstdint>
#include <limits>

#include "engine/kernels/table.h"
#include "engine/kernels/x86/vec.h"

namespace maum::kernels::x86 {

template <class V>
inline typename V::reg exp(typename V::reg x) {
  using R = typename V::reg;
  x = V::min(V::max(x, V::set1(-87.3f)), V::set1(V::kExpMax));
  const R n = V::round_nearest(V::mul(x, V::set1(1.44269504088896341f)));
  R r = V::fnmadd(n, V::set1(0.693359375f), x);
  r = V::fnmadd(n, V::set1(-2.12194440e-4f), r);
  R p = V::set1(1.9875691500e-4f);
  p = V::fmadd(p, r, V::set1(1.3981999507e-3f));
  p = V::fmadd(p, r, V::set1(8.3334519073e-3f));
  p = V::fmadd(p, r, V::set1(4.1665795894e-2f));
  p = V::fmadd(p, r, V::set1(1.6666665459e-1f));
  p = V::fmadd(p, r, V::set1(5.0000001201e-1f));
  p = V::fmadd(p, V::mul(r, r), V::add(r, V::set1(1.0f)));
  return V::scale_pow2(p, n);
}

template <class V>
inline typename V::reg erf(typename V::reg a) {
  using R = typename V::reg;
  const R x = V::min(V::max(a, V::set1(-4.0f)), V::set1(4.0f));
  const R x2 = V::mul(x, x);
  R p = V::set1(-2.72614225801306e-10f);
  p = V::fmadd(x2, p, V::set1(2.77068142495902e-08f));
  p = V::fmadd(x2, p, V::set1(-2.10102402082508e-06f));
  p = V::fmadd(x2, p, V::set1(-5.69250639462346e-05f));
  p = V::fmadd(x2, p, V::set1(-7.34990630326855e-04f));
  p = V::fmadd(x2, p, V::set1(-2.95459980854025e-03f));
  p = V::fmadd(x2, p, V::set1(-1.60960333262415e-02f));
  p = V::mul(x, p);
  R q = V::set1(-1.45660718464996e-05f);
  q = V::fmadd(x2, q, V::set1(-2.13374055278905e-04f));
  q = V::fmadd(x2, q, V::set1(-1.68282697438203e-03f));
  q = V::fmadd(x2, q, V::set1(-7.37332916720468e-03f));
  q = V::fmadd(x2, q, V::set1(-1.42647390514189e-02f));
  return V::div(p, q);
}

template <class V>
inline typename V::reg gelu_erf(typename V::reg x) {
  const auto e = erf<V>(V::mul(x, V::set1(0.70710678118654752f)));
  return V::mul(V::mul(x, V::set1(0.5f)), V::add(e, V::set1(1.0f)));
}

template <class V>
inline typename V::reg gelu_tanh(typename V::reg x) {
  const auto x3 = V::mul(V::mul(x, x), x);
  const auto u = V::mul(V::set1(0.79788456080286535588f), V::fmadd(x3, V::set1(0.044715f), x));
  const auto e = exp<V>(V::add(u, u));
  const auto s = V::div(V::set1(1.0f), V::add(e, V::set1(1.0f)));
  return V::fnmadd(x, s, x);
}

template <class V>
inline typename V::reg epilogue(typename V::reg x, Epilogue kind) {
  switch (kind) {
    case Epilogue::kGeluErf: return gelu_erf<V>(x);
    case Epilogue::kGeluTanh: return gelu_tanh<V>(x);
    case Epilogue::kNone: break;
  }
  return x;
}

// In place over x[0, n): f applied to each register, tails masked.
template <class V, typename F>
inline void map_in_place(float* x, size_t n, F&& f) {
  for (size_t i = 0; i < n; i += V::width) {
    const auto m = V::tail_mask(n - i);
    V::store(x + i, m, f(V::load(x + i, m)));
  }
}

template <class V>
void gelu_erf_n(float* x, size_t n) {
  map_in_place<V>(x, n, [](typename V::reg v) { return gelu_erf<V>(v); });
}

template <class V>
void gelu_tanh_n(float* x, size_t n) {
  map_in_place<V>(x, n, [](typename V::reg v) { return gelu_tanh<V>(v); });
}

// In place over x[0, n): max, exp and sum, scale. Padded: x is writable (and readable) up to n
// rounded up to V::width, so every access is a whole register (the padding ends up 0).
template <class V, bool Padded = false>
void softmax_row(float* x, size_t n) {
  if (n == 0) return;
  using R = typename V::reg;
  auto load = [&](size_t i, typename V::mask m) { return Padded ? V::load(x + i) : V::load(x + i, m); };
  auto store = [&](size_t i, typename V::mask m, R v) {
    if (Padded) V::store(x + i, v); else V::store(x + i, m, v);
  };
  const R lowest = V::set1(std::numeric_limits<float>::lowest());
  R vmax = lowest;
  for (size_t i = 0; i < n; i += V::width) {
    const auto m = V::tail_mask(n - i);
    vmax = V::max(vmax, V::select(m, load(i, m), lowest));
  }
  const R max = V::set1(V::hmax(vmax));
  R vsum = V::zero();
  for (size_t i = 0; i < n; i += V::width) {
    const auto m = V::tail_mask(n - i);
    const R e = V::zero_unless(m, exp<V>(V::sub(load(i, m), max)));
    vsum = V::add(vsum, e);
    store(i, m, e);
  }
  const R inv = V::set1(1.0f / V::hsum(vsum));
  for (size_t i = 0; i < n; i += V::width) {
    const auto m = V::tail_mask(n - i);
    store(i, m, V::mul(load(i, m), inv));
  }
}

template <class V>
void add_layernorm(float* x, const float* residual, const float* gamma, const float* beta,
                   size_t rows, size_t n, float eps) {
  if (n == 0) return;
  using R = typename V::reg;
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * n;
    R vsum = V::zero();
    for (size_t i = 0; i < n; i += V::width) {
      const auto m = V::tail_mask(n - i);
      R v = V::load(row + i, m);
      if (residual) {
        v = V::add(v, V::load(residual + r * n + i, m));
        V::store(row + i, m, v);
      }
      vsum = V::add(vsum, v);
    }
    const R vmean = V::set1(V::hsum(vsum) / static_cast<float>(n));
    R vvar = V::zero();
    for (size_t i = 0; i < n; i += V::width) {
      const auto m = V::tail_mask(n - i);
      const R d = V::zero_unless(m, V::sub(V::load(row + i, m), vmean));
      vvar = V::fmadd(d, d, vvar);
    }
    const float var = V::hsum(vvar) / static_cast<float>(n);
    const R inv = V::set1(1.0f / __builtin_sqrtf(var + eps));
    for (size_t i = 0; i < n; i += V::width) {
      const auto m = V::tail_mask(n - i);
      const R d = V::mul(V::sub(V::load(row + i, m), vmean), inv);
      V::store(row + i, m, V::fmadd(d, V::load(gamma + i, m), V::load(beta + i, m)));
    }
  }
}

// Ops::quantize_rows_u8: scale and q bit-identical to the reference (same scalar arithmetic for
// the scale; clamping before rounding equals rounding before clamping, the bounds being integers;
// maxps returns its second operand for a NaN, so a NaN lane becomes -127 as in the reference).
template <class V>
void quantize_rows_u8(const float* x, size_t ldx, uint8_t* q, size_t ldq, float* scale, size_t m,
                      size_t k) {
  using R = typename V::reg;
  for (size_t r = 0; r < m; ++r) {
    const float* xr = x + r * ldx;
    uint8_t* qr = q + r * ldq;
    R vmax = V::zero(), vnan = V::zero();
    for (size_t i = 0; i < k; i += V::width) {
      const R v = V::load(xr + i, V::tail_mask(k - i));
      vmax = V::max(vmax, V::abs(v));
      vnan = V::bit_or(vnan, V::unordered(v));
    }
    // A NaN makes the scale NaN (see the reference).
    const float amax = V::any(vnan) ? std::numeric_limits<float>::quiet_NaN() : V::hmax(vmax);
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    scale[r] = amax / 127.0f;
    const R vinv = V::set1(inv), lo = V::set1(-127.0f), hi = V::set1(127.0f);
    auto clamped = [&](R v) { return V::min(V::max(V::mul(v, vinv), lo), hi); };
    size_t i = 0;
    for (; i + V::width <= k; i += V::width) V::store_u8(qr + i, clamped(V::load(xr + i)));
    if (i < k) V::store_u8(qr + i, k - i, clamped(V::load(xr + i, V::tail_mask(k - i))));
  }
}

// y[r, n_begin:n_end] = epilogue(y + bias) for m rows.
template <class V>
void bias_epilogue_rows(float* y, size_t ldy, size_t m, size_t n_begin, size_t n_end,
                        const float* bias, Epilogue kind) {
  for (size_t r = 0; r < m; ++r) {
    float* row = y + r * ldy;
    for (size_t c = n_begin; c < n_end; c += V::width) {
      const auto mask = V::tail_mask(n_end - c);
      auto v = V::load(row + c, mask);
      if (bias) v = V::add(v, V::load(bias + c, mask));
      V::store(row + c, mask, epilogue<V>(v, kind));
    }
  }
}

// Where a register tile of a linear layer (x86/vec_f32_packed.h, x86/vec_bf16.h) writes, and what
// it does at the ends of its K block; each kernel's TileArgs adds its weights' side.
struct TileOutput {
  float* c;              // y at (row0, col0)
  size_t ldc;
  size_t cols;           // valid columns of the tile
  bool accumulate;       // add to c (a later K block)
  bool finish;           // last K block: bias + epilogue
  const float* bias;     // at col0, or null
  Epilogue epilogue;
};

// Vector j of a tile over 16-column weight panels covers columns [j·W, j·W + W): panel j·W/16,
// offset (j·W)%16 in it (Args: b, the tile's first panel at the block's first k; panel_stride).
template <class V, class Args>
inline const float* panel_vector(const Args& t, int j) {
  constexpr size_t W = V::width;
  return t.b + (j * W / 16) * t.panel_stride + (j * W) % 16;
}

// The two ends of an MR x NV-vector register tile that do not depend on the weights' format:
// tile_begin sets the masks and starts the accumulators (from y after the first K block),
// tile_end applies bias + epilogue after the last one and stores.
template <class V, int MR, int NV>
inline void tile_begin(const TileOutput& t, typename V::reg (&acc)[MR][NV],
                       typename V::mask (&masks)[NV]) {
  constexpr size_t W = V::width;
#pragma GCC unroll 8
  for (int j = 0; j < NV; ++j) masks[j] = V::tail_mask(t.cols > j * W ? t.cols - j * W : 0);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j)
      acc[i][j] = t.accumulate ? V::load(t.c + i * t.ldc + j * W, masks[j]) : V::zero();
}

// acc[i][j] += x[i] · w[j] for the tile's rows i (x[i] at a + i·lda) and vectors j: one k step.
template <class V, int MR, int NV>
inline void fma_step(typename V::reg (&acc)[MR][NV], const typename V::reg (&w)[NV],
                     const float* a, size_t lda) {
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i) {
    const auto xv = V::broadcast(a + i * lda);
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) acc[i][j] = V::fmadd(xv, w[j], acc[i][j]);
  }
}

template <class V, int MR, int NV>
inline void tile_end(const TileOutput& t, typename V::reg (&acc)[MR][NV],
                     const typename V::mask (&masks)[NV]) {
  constexpr size_t W = V::width;
  if (t.finish) {
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) {
      const auto bias = t.bias ? V::load(t.bias + j * W, masks[j]) : V::zero();
#pragma GCC unroll 8
      for (int i = 0; i < MR; ++i) acc[i][j] = epilogue<V>(V::add(acc[i][j], bias), t.epilogue);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NV; ++j) V::store(t.c + i * t.ldc + j * W, masks[j], acc[i][j]);
}

// Ops::linear_f32 on unpacked weights (LoadOptions::pack_weights = false, and gemm_f32): each
// output is the dot product of an x row with a weight row, four weight rows at a time so that each
// x vector loaded serves four sums; then bias + epilogue in vectors. Not tuned: the engine runs
// the packed kernels (x86/vec_f32_packed.h), this path only where weights stay in place.
template <class V>
void linear_f32_rows(const float* x, size_t ldx, const LinearF32& w, float* y, size_t ldy,
                     size_t m, size_t n_begin, size_t n_end, Epilogue kind) {
  if (n_end <= n_begin || m == 0) return;
  const size_t k = w.k;
  // The sums of x row xr with weight rows c .. c + N - 1 (N = columns::value).
  auto dot = [&](const float* xr, size_t c, auto columns) {
    constexpr int N = decltype(columns)::value;
    typename V::reg acc[N];
    for (int j = 0; j < N; ++j) acc[j] = V::zero();
    for (size_t i = 0; i < k; i += V::width) {
      const auto mask = V::tail_mask(k - i);
      const auto xv = V::load(xr + i, mask);
      for (int j = 0; j < N; ++j)
        acc[j] = V::fmadd(xv, V::load(w.w + (c + j) * k + i, mask), acc[j]);
    }
    std::array<float, N> sums;
    for (int j = 0; j < N; ++j) sums[j] = V::hsum(acc[j]);
    return sums;
  };
  for (size_t r = 0; r < m; ++r) {
    const float* xr = x + r * ldx;
    float* yr = y + r * ldy;
    size_t c = n_begin;
    for (; c + 4 <= n_end; c += 4) {
      const auto sums = dot(xr, c, std::integral_constant<int, 4>{});
      for (int j = 0; j < 4; ++j) yr[c + j] = sums[j];
    }
    for (; c < n_end; ++c) yr[c] = dot(xr, c, std::integral_constant<int, 1>{})[0];
  }
  bias_epilogue_rows<V>(y, ldy, m, n_begin, n_end, w.bias, kind);
}

// ---- One attention head (Ops::attention_head) ----
// K is transposed once into scratch ([head_dim][seq rounded up to 16]) so the scores are
// register-tiled FMAs over contiguous key columns; queries go in blocks of 16 rows: scores
// [16][seq] -> softmax per row -> P·V, so the largest buffer is 16 x seq, never seq x seq.
// ScoreChunks / PvChunks: registers per tile row in the two products (the ISA's tile width).
namespace attention {

constexpr size_t kQueryBlock = 16;

// s[r][jc + W·c] = scale · Σ_d q[r][d] · kt[d][jc + W·c], R rows x NC register-wide key chunks.
template <class V, int R, int NC>
void scores_tile(const float* q, size_t ld, const float* kt, size_t seq_pad, size_t head_dim,
                 float scale, float* s, size_t jc) {
  constexpr size_t W = V::width;
  typename V::reg acc[R][NC];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) acc[r][c] = V::zero();
  for (size_t d = 0; d < head_dim; ++d) {
    typename V::reg kv[NC];
#pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) kv[c] = V::load(kt + d * seq_pad + jc + W * c);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const auto qv = V::broadcast(q + r * ld + d);
#pragma GCC unroll 4
      for (int c = 0; c < NC; ++c) acc[r][c] = V::fmadd(qv, kv[c], acc[r][c]);
    }
  }
  const auto vscale = V::set1(scale);
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < NC; ++c) V::store(s + r * seq_pad + jc + W * c, V::mul(acc[r][c], vscale));
}

template <class V, int ScoreChunks, int R>
void scores_rows(const float* q, size_t ld, const float* kt, size_t seq_pad, size_t head_dim,
                 float scale, float* s) {
  constexpr size_t step = V::width * ScoreChunks;
  for (size_t jc = 0; jc < seq_pad; jc += step) {
    with_count<ScoreChunks>((seq_pad - jc) / V::width, [&](auto chunks) {
      scores_tile<V, R, chunks()>(q, ld, kt, seq_pad, head_dim, scale, s, jc);
    });
  }
}

// out[r][dc + W·c] = Σ_j p[r][j] · v[j][dc + W·c], R rows x DC register-wide chunks of head_dim,
// the last one masked to `width` columns in all.
template <class V, int R, int DC>
void pv_tile(const float* p, size_t seq_pad, const float* v, size_t ld, size_t seq, float* out,
             size_t ldo, size_t dc, size_t width) {
  constexpr size_t W = V::width;
  typename V::reg acc[R][DC];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < DC; ++c) acc[r][c] = V::zero();
  typename V::mask masks[DC];
#pragma GCC unroll 4
  for (int c = 0; c < DC; ++c) masks[c] = V::tail_mask(width > W * c ? width - W * c : 0);
  const float* prow[R];
  for (int r = 0; r < R; ++r) prow[r] = p + r * seq_pad;
  const float* vj = v + dc;
  for (size_t j = 0; j < seq; ++j, vj += ld) {
    typename V::reg vv[DC];
#pragma GCC unroll 4
    for (int c = 0; c < DC; ++c) vv[c] = V::load(vj + W * c, masks[c]);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const auto pv = V::broadcast(prow[r] + j);
#pragma GCC unroll 4
      for (int c = 0; c < DC; ++c) acc[r][c] = V::fmadd(pv, vv[c], acc[r][c]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int c = 0; c < DC; ++c) V::store(out + r * ldo + dc + W * c, masks[c], acc[r][c]);
}

template <class V, int PvChunks, int R>
void pv_rows(const float* p, size_t seq_pad, const float* v, size_t ld, size_t seq,
             size_t head_dim, float* out, size_t ldo) {
  constexpr size_t step = V::width * PvChunks;
  for (size_t dc = 0; dc < head_dim; dc += step) {
    const size_t width = head_dim - dc < step ? head_dim - dc : step;
    with_count<PvChunks>((width + V::width - 1) / V::width, [&](auto chunks) {
      pv_tile<V, R, chunks()>(p, seq_pad, v, ld, seq, out, ldo, dc, width);
    });
  }
}

// kt[d][j] = k[j][d] for d < head_dim, j < seq_pad (keys past seq are zero): in width x width
// register blocks where the Vec can transpose one, else element by element.
template <class V>
void transpose_keys(const float* k, size_t ld, size_t seq, size_t head_dim, float* kt,
                    size_t seq_pad) {
  constexpr size_t W = V::width;
  if constexpr (V::kHasTranspose) {
    static_assert(16 % W == 0, "seq_pad is a multiple of 16");
    typename V::reg r[W];
    for (size_t j0 = 0; j0 < seq_pad; j0 += W) {
      for (size_t d0 = 0; d0 < head_dim; d0 += W) {
        const auto mask = V::tail_mask(head_dim - d0);
        for (size_t i = 0; i < W; ++i)
          r[i] = j0 + i < seq ? V::load(k + (j0 + i) * ld + d0, mask) : V::zero();
        V::transpose(r);
        const size_t rows = head_dim - d0 < W ? head_dim - d0 : W;
        for (size_t i = 0; i < rows; ++i) V::store(kt + (d0 + i) * seq_pad + j0, r[i]);
      }
    }
  } else {
    for (size_t d = 0; d < head_dim; ++d) {
      float* row = kt + d * seq_pad;
      for (size_t j = 0; j < seq; ++j) row[j] = k[j * ld + d];
      for (size_t j = seq; j < seq_pad; ++j) row[j] = 0.0f;
    }
  }
}

}  // namespace attention

template <class V, int ScoreChunks, int PvChunks>
void attention_head(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                    size_t head_dim, float scale, float* out, size_t ldo, float* scratch) {
  using namespace attention;
  if (seq == 0 || head_dim == 0) return;
  const size_t seq_pad = (seq + 15) / 16 * 16;
  float* kt = scratch;
  float* s = scratch + head_dim * seq_pad;
  transpose_keys<V>(k, ld, seq, head_dim, kt, seq_pad);
  for (size_t i0 = 0; i0 < seq; i0 += kQueryBlock) {
    const size_t rows = seq - i0 < kQueryBlock ? seq - i0 : kQueryBlock;
    const float* qb = q + i0 * ld;
    for_row_groups(rows, [&](auto tile_rows, size_t r) {
      scores_rows<V, ScoreChunks, tile_rows()>(qb + r * ld, ld, kt, seq_pad, head_dim, scale,
                                               s + r * seq_pad);
    });
    for (size_t i = 0; i < rows; ++i) softmax_row<V, true>(s + i * seq_pad, seq);
    float* ob = out + i0 * ldo;
    for_row_groups(rows, [&](auto tile_rows, size_t r) {
      pv_rows<V, PvChunks, tile_rows()>(s + r * seq_pad, seq_pad, v, ld, seq, head_dim,
                                        ob + r * ldo, ldo);
    });
  }
}

// The table entries every ISA computes with these templates: GELU, softmax (and the one-query
// attention built on it), residual + LayerNorm, per-row u8 quantization.
template <class V>
void fill_elementwise(Ops& ops) {
  ops.gelu_erf = gelu_erf_n<V>;
  ops.gelu_tanh = gelu_tanh_n<V>;
  ops.softmax = softmax_row<V>;
  ops.attention_one_query = attention_one_query_using<softmax_row<V>>;
  ops.add_layernorm = add_layernorm<V>;
  ops.quantize_rows_u8 = quantize_rows_u8<V>;
}

}  // namespace maum::kernels::x86

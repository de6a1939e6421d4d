// The portable kernel table: fp32 GEMMs and element-wise ops on Eigen, which vectorises them with
// whatever the baseline target offers (SSE2 on plain x86-64, NEON on ARM, AltiVec on POWER), so a
// build without the x86 tables (MAUM_SIMD=OFF) is not left with scalar loops. No intrinsics and no
// per-file flags here: only the compiler's default target. The int8 path (quantize, u8s8 GEMM) and
// bf16 attention stay the scalar reference in this table.
//
// Error budgets: the same as every SIMD table's (tests/engine/kernels/kernels_test.cpp): GEMMs are
// the reference's dot products summed in another order, GELU/softmax use Eigen's float erf, tanh
// and exp (a few ulp), LayerNorm sums in float.
#include <algorithm>
#include <cmath>

#include <Eigen/Core>
#include <unsupported/Eigen/SpecialFunctions>

#include "engine/kernels/table.h"

namespace maum::kernels {
namespace portable {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Strided = Eigen::OuterStride<>;
using ConstMap = Eigen::Map<const RowMajor, Eigen::Unaligned, Strided>;
using Map = Eigen::Map<RowMajor, Eigen::Unaligned, Strided>;
using Vec = Eigen::Map<Eigen::ArrayXf>;

// y[m, n] (ldy) = x[m, k] (ldx) . w[n, k]^T (+ bias): Eigen's blocked GEMM, single-threaded.
void gemm_rows(const float* x, size_t ldx, const float* w, size_t ldw, const float* bias, float* y,
               size_t ldy, size_t m, size_t n, size_t k) {
  if (m == 0 || n == 0) return;
  Map out(y, Eigen::Index(m), Eigen::Index(n), Strided(Eigen::Index(ldy)));
  if (k == 0) {
    out.setZero();
  } else {
    const ConstMap a(x, Eigen::Index(m), Eigen::Index(k), Strided(Eigen::Index(ldx)));
    const ConstMap b(w, Eigen::Index(n), Eigen::Index(k), Strided(Eigen::Index(ldw)));
    out.noalias() = a * b.transpose();
  }
  if (bias != nullptr) {
    const Eigen::Map<const Eigen::RowVectorXf> b(bias, Eigen::Index(n));
    out.rowwise() += b;
  }
}

void gelu_erf(float* x, size_t n) {
  Vec v(x, Eigen::Index(n));
  v = 0.5f * v * (1.0f + (v * 0.70710678118654752440f).erf());
}

void gelu_tanh(float* x, size_t n) {
  Vec v(x, Eigen::Index(n));
  const float k = 0.79788456080286535588f;  // sqrt(2 / pi)
  v = 0.5f * v * (1.0f + (k * (v + 0.044715f * v.cube())).tanh());
}

void apply_epilogue(float* y, size_t n, Epilogue epilogue) {
  switch (epilogue) {
    case Epilogue::kNone: break;
    case Epilogue::kGeluErf: gelu_erf(y, n); break;
    case Epilogue::kGeluTanh: gelu_tanh(y, n); break;
  }
}

void gemm_f32(const float* x, size_t ldx, const float* w, const float* bias, float* y, size_t ldy,
              size_t m, size_t n, size_t k) {
  gemm_rows(x, ldx, w, k, bias, y, ldy, m, n, k);
}

void linear_f32(const float* x, size_t ldx, const LinearF32& w, float* y, size_t ldy, size_t m,
                size_t n_begin, size_t n_end, Epilogue epilogue) {
  if (n_end <= n_begin) return;
  const size_t n = n_end - n_begin;
  gemm_rows(x, ldx, w.w + n_begin * w.k, w.k, w.bias ? w.bias + n_begin : nullptr, y + n_begin,
            ldy, m, n, w.k);
  if (epilogue != Epilogue::kNone) {
    for (size_t r = 0; r < m; ++r) apply_epilogue(y + r * ldy + n_begin, n, epilogue);
  }
}

void softmax(float* x, size_t n) {
  if (n == 0) return;
  Vec v(x, Eigen::Index(n));
  v = (v - v.maxCoeff()).exp();
  v *= 1.0f / v.sum();
}

void add_layernorm(float* x, const float* residual, const float* gamma, const float* beta,
                   size_t rows, size_t n, float eps) {
  if (n == 0) return;
  const Eigen::Map<const Eigen::ArrayXf> g(gamma, Eigen::Index(n)), b(beta, Eigen::Index(n));
  for (size_t r = 0; r < rows; ++r) {
    Vec row(x + r * n, Eigen::Index(n));
    if (residual != nullptr) row += Eigen::Map<const Eigen::ArrayXf>(residual + r * n, Eigen::Index(n));
    const float mean = row.mean();
    row -= mean;
    const float var = row.square().mean();
    row = row * (1.0f / std::sqrt(var + eps)) * g + b;
  }
}

// Blocks of kBlock query rows: scores = scale * q . k^T ([rows, seq] in scratch), row-wise
// softmax, out = P . v: two Eigen GEMMs per block. attention_scratch_floats(seq, head_dim) is at
// least (16 + 32) * seq floats, so a block of 32 rows of scores always fits.
void attention_head(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                    size_t head_dim, float scale, float* out, size_t ldo, float* scratch) {
  constexpr size_t kBlock = 32;
  if (seq == 0) return;
  const Eigen::Index s = Eigen::Index(seq), d = Eigen::Index(head_dim);
  const ConstMap km(k, s, d, Strided(Eigen::Index(ld)));
  const ConstMap vm(v, s, d, Strided(Eigen::Index(ld)));
  for (size_t r0 = 0; r0 < seq; r0 += kBlock) {
    const Eigen::Index rows = Eigen::Index(std::min(kBlock, seq - r0));
    const ConstMap qm(q + r0 * ld, rows, d, Strided(Eigen::Index(ld)));
    Eigen::Map<RowMajor> p(scratch, rows, s);
    p.noalias() = (qm * scale) * km.transpose();
    for (Eigen::Index i = 0; i < rows; ++i) softmax(p.data() + i * s, seq);
    Map o(out + r0 * ldo, rows, d, Strided(Eigen::Index(ldo)));
    o.noalias() = p * vm;
  }
}

}  // namespace
}  // namespace portable

void fill_portable_ops(Ops& o) {
  o.name = "portable (Eigen)";
  o.gemm_f32 = portable::gemm_f32;
  o.linear_f32 = portable::linear_f32;
  o.gelu_erf = portable::gelu_erf;
  o.gelu_tanh = portable::gelu_tanh;
  o.softmax = portable::softmax;
  o.add_layernorm = portable::add_layernorm;
  o.attention_head = portable::attention_head;
}

}  // namespace maum::kernels

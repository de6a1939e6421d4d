// Portable scalar element-wise kernels: the reference for the SIMD versions (computed in float
// with libm, sums in double, so the reference itself is as exact as float output allows).
#include <cmath>

#include "engine/kernels/table.h"

namespace maum::kernels::ref {

void gelu_erf(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    x[i] = static_cast<float>(0.5 * v * (1.0 + std::erf(v * 0.70710678118654752440)));
  }
}

void gelu_tanh(float* x, size_t n) {
  const double k = 0.79788456080286535588;  // sqrt(2 / pi)
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    x[i] = static_cast<float>(0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v))));
  }
}

void apply_epilogue(float* y, size_t n, Epilogue epilogue) {
  switch (epilogue) {
    case Epilogue::kNone: break;
    case Epilogue::kGeluErf: gelu_erf(y, n); break;
    case Epilogue::kGeluTanh: gelu_tanh(y, n); break;
  }
}

void add_layernorm(float* x, const float* residual, const float* gamma, const float* beta,
                   size_t rows, size_t n, float eps) {
  if (n == 0) return;
  for (size_t r = 0; r < rows; ++r) {
    float* row = x + r * n;
    const float* res = residual ? residual + r * n : nullptr;
    double sum = 0;
    for (size_t i = 0; i < n; ++i) {
      if (res) row[i] += res[i];
      sum += row[i];
    }
    const double mean = sum / static_cast<double>(n);
    double var = 0;
    for (size_t i = 0; i < n; ++i) {
      const double d = row[i] - mean;
      var += d * d;
    }
    var /= static_cast<double>(n);
    const double inv = 1.0 / std::sqrt(var + static_cast<double>(eps));
    for (size_t i = 0; i < n; ++i) {
      row[i] = static_cast<float>((row[i] - mean) * inv * gamma[i] + beta[i]);
    }
  }
}

void softmax(float* x, size_t n) {
  if (n == 0) return;
  float max = x[0];
  for (size_t i = 1; i < n; ++i) max = x[i] > max ? x[i] : max;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const double e = std::exp(static_cast<double>(x[i]) - max);
    x[i] = static_cast<float>(e);
    sum += e;
  }
  const double inv = 1.0 / sum;
  for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(x[i] * inv);
}

void relu(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = x[i] > 0.f ? x[i] : 0.f;
}

void tanh(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = std::tanh(x[i]);
}

}  // namespace maum::kernels::ref

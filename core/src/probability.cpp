// Softmax and sigmoid with temperature (core/src/probability.h).
#include "core/src/probability.h"

#include <algorithm>
#include <cmath>

#include "maum/error.h"

namespace maum::core {

std::vector<double> softmax(const std::vector<float>& logits, double temperature) {
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw InvalidArgument("softmax: temperature must be a positive number");
  std::vector<double> p(logits.size());
  if (logits.empty()) return p;
  double max = -INFINITY;
  for (float z : logits) max = std::max(max, z / temperature);
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp(logits[i] / temperature - max);
  for (double& v : p) v /= sum;
  return p;
}

std::vector<double> sigmoid(const std::vector<float>& logits, double temperature) {
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw InvalidArgument("sigmoid: temperature must be a positive number");
  std::vector<double> p(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) {
    // Stable for large |z|: exp of a non-positive number only.
    const double z = logits[i] / temperature;
    p[i] = z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
  }
  return p;
}

}  // namespace maum::core

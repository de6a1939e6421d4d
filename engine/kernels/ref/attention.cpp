// Portable scalar attention for one head of one sequence: scores row by row (scratch holds one
// row of `seq` scores), softmax, weighted sum of V.
#include <cmath>

#include "engine/kernels/table.h"

namespace maum::kernels::ref {

void attention_head(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                    size_t head_dim, float scale, float* out, size_t ldo, float* scratch) {
  float* scores = scratch;
  for (size_t i = 0; i < seq; ++i) {
    const float* qi = q + i * ld;
    for (size_t j = 0; j < seq; ++j) {
      const float* kj = k + j * ld;
      double dot = 0;
      for (size_t d = 0; d < head_dim; ++d) dot += static_cast<double>(qi[d]) * kj[d];
      scores[j] = static_cast<float>(dot * scale);
    }
    softmax(scores, seq);
    float* oi = out + i * ldo;
    for (size_t d = 0; d < head_dim; ++d) {
      double acc = 0;
      for (size_t j = 0; j < seq; ++j) acc += static_cast<double>(scores[j]) * v[j * ld + d];
      oi[d] = static_cast<float>(acc);
    }
  }
}

}  // namespace maum::kernels::ref

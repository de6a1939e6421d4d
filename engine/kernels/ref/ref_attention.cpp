// Portable scalar attention for one head of one sequence: scores row by row (scratch holds one
// row of `seq` scores), softmax, weighted sum of V. The bf16 variant is the reference for the
// AVX512_BF16 kernel: the same, with q, k, p and v rounded to bf16 first.
#include <cmath>

#include "engine/kernels/table.h"

namespace maum::kernels::ref {
namespace {

template <typename Round>
void attention_rounded(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                       size_t head_dim, float scale, float* out, size_t ldo, float* scratch,
                       Round round) {
  float* scores = scratch;
  for (size_t i = 0; i < seq; ++i) {
    const float* qi = q + i * ld;
    for (size_t j = 0; j < seq; ++j) {
      const float* kj = k + j * ld;
      double dot = 0;
      for (size_t d = 0; d < head_dim; ++d) dot += static_cast<double>(round(qi[d])) * round(kj[d]);
      scores[j] = static_cast<float>(dot * scale);
    }
    softmax(scores, seq);
    float* oi = out + i * ldo;
    for (size_t d = 0; d < head_dim; ++d) {
      double acc = 0;
      for (size_t j = 0; j < seq; ++j)
        acc += static_cast<double>(round(scores[j])) * round(v[j * ld + d]);
      oi[d] = static_cast<float>(acc);
    }
  }
}

}  // namespace

float round_to_bf16(float x) { return from_bf16(to_bf16(x)); }

void attention_head_bf16(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                         size_t head_dim, float scale, float* out, size_t ldo, float* scratch) {
  attention_rounded(q, k, v, ld, seq, head_dim, scale, out, ldo, scratch, round_to_bf16);
}

void attention_head(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                    size_t head_dim, float scale, float* out, size_t ldo, float* scratch) {
  attention_rounded(q, k, v, ld, seq, head_dim, scale, out, ldo, scratch, [](float x) { return x; });
}

void attention_one_query_with(void (*softmax)(float* x, size_t n), const float* q,
                              const float* k, const float* v, size_t ld, size_t seq,
                              size_t head_dim, float scale, float* out, float* scores) {
  for (size_t j = 0; j < seq; ++j) {
    const float* kj = k + j * ld;
    float dot = 0.f;
    for (size_t d = 0; d < head_dim; ++d) dot += q[d] * kj[d];
    scores[j] = scale * dot;
  }
  softmax(scores, seq);
  for (size_t d = 0; d < head_dim; ++d) out[d] = 0.f;
  for (size_t j = 0; j < seq; ++j) {
    const float p = scores[j];
    const float* vj = v + j * ld;
    for (size_t d = 0; d < head_dim; ++d) out[d] += p * vj[d];
  }
}

void attention_one_query(const float* q, const float* k, const float* v, size_t ld, size_t seq,
                         size_t head_dim, float scale, float* out, float* scores) {
  attention_one_query_with(softmax, q, k, v, ld, seq, head_dim, scale, out, scores);
}

}  // namespace maum::kernels::ref

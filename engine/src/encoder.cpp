#include "engine/src/encoder.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>

#include "engine/src/thread_pool.h"
#include "maum/error.h"

namespace maum::engine {
namespace {

// Uninitialized float storage: every buffer here is fully written before it is read, so zeroing
// it (as std::vector would) is wasted time on the hot path.
class Buffer {
 public:
  explicit Buffer(size_t n) : data_(new float[n == 0 ? 1 : n]) {}
  float* get() { return data_.get(); }
  const float* get() const { return data_.get(); }

 private:
  std::unique_ptr<float[]> data_;
};

// y[m, n] (ldy) = x[m, k] (ldx) . W^T + b, split over the pool in tiles of rows x output columns.
// Tiling never splits the k sum, so each output element is computed the same way whatever m is.
void apply_linear(const kernels::Ops& ops, const Linear& l, const float* x, size_t ldx, float* y,
                  size_t ldy, size_t m) {
  if (m == 0) return;
  const size_t n = l.n, k = l.k;
  const size_t threads = static_cast<size_t>(pool_threads());
  // Enough tiles to balance the pool, each big enough to amortize a kernel call.
  const size_t target_tiles = threads == 1 ? 1 : threads * 4;
  size_t col_block = std::max<size_t>(64, (n + target_tiles - 1) / target_tiles);
  col_block = (col_block + 15) / 16 * 16;
  const size_t col_tiles = (n + col_block - 1) / col_block;
  size_t row_tiles = std::max<size_t>(1, std::min((m + 15) / 16, (target_tiles + col_tiles - 1) / col_tiles));
  const size_t row_block = (m + row_tiles - 1) / row_tiles;
  row_tiles = (m + row_block - 1) / row_block;

  if (!l.is_quantized()) {
    parallel_for(row_tiles * col_tiles, [&](size_t t) {
      const size_t r0 = (t / col_tiles) * row_block, c0 = (t % col_tiles) * col_block;
      const size_t rows = std::min(row_block, m - r0), cols = std::min(col_block, n - c0);
      ops.gemm_f32(x + r0 * ldx, ldx, l.weight + c0 * k, l.bias + c0, y + r0 * ldy + c0, ldy, rows,
                   cols, k);
    });
    return;
  }
  // int8: quantize each activation row once (per-row scale), then the u8 x s8 GEMM per tile.
  std::unique_ptr<uint8_t[]> q(new uint8_t[m * k]);
  Buffer scales(m);
  parallel_ranges(m, 16, [&](size_t r0, size_t r1) {
    ops.quantize_rows_u8(x + r0 * ldx, ldx, q.get() + r0 * k, k, scales.get() + r0, r1 - r0, k);
  });
  parallel_for(row_tiles * col_tiles, [&](size_t t) {
    const size_t r0 = (t / col_tiles) * row_block, c0 = (t % col_tiles) * col_block;
    const size_t rows = std::min(row_block, m - r0), cols = std::min(col_block, n - c0);
    kernels::QuantizedWeights part = l.quantized;
    part.data += c0 * k;
    part.scale += c0;
    part.row_sum += c0;
    part.n = cols;
    ops.gemm_u8s8(q.get() + r0 * k, k, scales.get() + r0, part, l.bias + c0, y + r0 * ldy + c0,
                  ldy, rows);
  });
}

void add_layer_norm(const kernels::Ops& ops, float* x, const float* residual,
                    const LayerNormWeights& ln, size_t rows, size_t n, float eps) {
  parallel_ranges(rows, 8, [&](size_t r0, size_t r1) {
    ops.add_layernorm(x + r0 * n, residual ? residual + r0 * n : nullptr, ln.gamma, ln.beta,
                      r1 - r0, n, eps);
  });
}

void activate(const kernels::Ops& ops, Activation act, float* x, size_t rows, size_t n) {
  parallel_ranges(rows, 4, [&](size_t r0, size_t r1) {
    float* p = x + r0 * n;
    const size_t count = (r1 - r0) * n;
    switch (act) {
      case Activation::kGeluErf: ops.gelu_erf(p, count); break;
      case Activation::kGeluTanh: ops.gelu_tanh(p, count); break;
      case Activation::kRelu:
        for (size_t i = 0; i < count; ++i) p[i] = p[i] > 0.f ? p[i] : 0.f;
        break;
    }
  });
}

// Scratch for one (sequence, head) attention task, kept per thread and reused across tasks.
struct AttentionScratch {
  std::vector<float> keys, values_t, scores;
};

// ctx rows of one sequence, one head: softmax(Q K^T / sqrt(d)) V over the sequence's own tokens.
void attend(const kernels::Ops& ops, const float* qkv, float* ctx, size_t start, size_t len,
            size_t head, size_t hidden, size_t head_dim) {
  thread_local AttentionScratch s;
  s.keys.resize(len * head_dim);
  s.values_t.resize(head_dim * len);
  s.scores.resize(len * len);
  const size_t ld = 3 * hidden;
  const float* q = qkv + start * ld + head * head_dim;
  const float* k = q + hidden;
  const float* v = q + 2 * hidden;
  // The GEMM kernel wants its right operand as contiguous [n, k] rows: K as is, V transposed.
  for (size_t t = 0; t < len; ++t) {
    std::memcpy(&s.keys[t * head_dim], k + t * ld, head_dim * sizeof(float));
    for (size_t d = 0; d < head_dim; ++d) s.values_t[d * len + t] = v[t * ld + d];
  }
  ops.gemm_f32(q, ld, s.keys.data(), nullptr, s.scores.data(), len, len, len, head_dim);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  for (size_t i = 0; i < len; ++i) {
    float* row = &s.scores[i * len];
    for (size_t j = 0; j < len; ++j) row[j] *= scale;
    ops.softmax(row, len);
  }
  ops.gemm_f32(s.scores.data(), len, s.values_t.data(), nullptr, ctx + start * hidden + head * head_dim,
               hidden, len, head_dim, len);
}

}  // namespace

std::vector<std::vector<float>> encode_and_classify(const ModelConfig& c, const Weights& w,
                                                    const std::vector<SequenceRef>& sequences) {
  const kernels::Ops& ops = kernels::ops();
  const size_t batch = sequences.size();
  if (batch == 0) return {};
  const size_t E = c.embedding_size, H = c.hidden_size, I = c.intermediate_size;
  const size_t heads = c.num_heads, head_dim = H / heads;

  std::vector<size_t> starts(batch);
  size_t total = 0;
  for (size_t s = 0; s < batch; ++s) {
    const SequenceRef& seq = sequences[s];
    if (seq.length == 0) throw InvalidArgument("sequence " + std::to_string(s) + " is empty");
    if (seq.length > c.max_position_embeddings)
      throw InvalidArgument("sequence " + std::to_string(s) + " has " + std::to_string(seq.length) +
                            " tokens; the model takes at most " +
                            std::to_string(c.max_position_embeddings));
    for (size_t t = 0; t < seq.length; ++t) {
      if (seq.ids[t] < 0 || static_cast<size_t>(seq.ids[t]) >= c.vocab_size)
        throw InvalidArgument("sequence " + std::to_string(s) + ": token id " +
                              std::to_string(seq.ids[t]) + " is outside the vocabulary (" +
                              std::to_string(c.vocab_size) + ")");
      if (seq.type_ids &&
          (seq.type_ids[t] < 0 || static_cast<size_t>(seq.type_ids[t]) >= c.type_vocab_size))
        throw InvalidArgument("sequence " + std::to_string(s) + ": token type id " +
                              std::to_string(seq.type_ids[t]) + " is out of range");
    }
    starts[s] = total;
    total += seq.length;
  }

  // Embeddings: word + position (0..n-1 per sequence) + token type, then LayerNorm.
  Buffer emb(total * E);
  parallel_for(batch, [&](size_t s) {
    const SequenceRef& seq = sequences[s];
    for (size_t t = 0; t < seq.length; ++t) {
      float* row = emb.get() + (starts[s] + t) * E;
      const float* word = w.word_embeddings + static_cast<size_t>(seq.ids[t]) * E;
      const float* pos = w.position_embeddings + t * E;
      const float* type =
          w.token_type_embeddings + (seq.type_ids ? static_cast<size_t>(seq.type_ids[t]) : 0) * E;
      for (size_t e = 0; e < E; ++e) row[e] = word[e] + pos[e] + type[e];
    }
  });
  add_layer_norm(ops, emb.get(), nullptr, w.embedding_ln, total, E, c.layer_norm_eps);

  Buffer x(total * H), qkv(total * 3 * H), ctx(total * H), tmp(total * H), inter(total * I);
  if (w.has_projection) {
    apply_linear(ops, w.embedding_projection, emb.get(), E, x.get(), H, total);
  } else {
    std::memcpy(x.get(), emb.get(), total * H * sizeof(float));
  }

  for (const EncoderLayer& layer : w.layers) {
    apply_linear(ops, layer.qkv, x.get(), H, qkv.get(), 3 * H, total);
    parallel_for(batch * heads, [&](size_t task) {
      const size_t s = task / heads, head = task % heads;
      attend(ops, qkv.get(), ctx.get(), starts[s], sequences[s].length, head, H, head_dim);
    });
    apply_linear(ops, layer.attn_out, ctx.get(), H, tmp.get(), H, total);
    add_layer_norm(ops, tmp.get(), x.get(), layer.attn_ln, total, H, c.layer_norm_eps);
    std::swap(x, tmp);
    apply_linear(ops, layer.ffn_up, x.get(), H, inter.get(), I, total);
    activate(ops, c.hidden_act, inter.get(), total, I);
    apply_linear(ops, layer.ffn_down, inter.get(), I, tmp.get(), H, total);
    add_layer_norm(ops, tmp.get(), x.get(), layer.ffn_ln, total, H, c.layer_norm_eps);
    std::swap(x, tmp);
  }

  // Head on each sequence's [CLS] (its first token).
  Buffer cls(batch * H), dense(batch * H);
  for (size_t s = 0; s < batch; ++s)
    std::memcpy(cls.get() + s * H, x.get() + starts[s] * H, H * sizeof(float));
  apply_linear(ops, w.head_dense, cls.get(), H, dense.get(), H, batch);
  if (c.head == HeadType::kBertPooler) {
    for (size_t i = 0; i < batch * H; ++i) dense.get()[i] = std::tanh(dense.get()[i]);
  } else {
    ops.gelu_erf(dense.get(), batch * H);  // HF's ElectraClassificationHead: always erf GELU
  }
  const size_t labels = c.labels.size();
  Buffer out(batch * labels);
  apply_linear(ops, w.head_out, dense.get(), H, out.get(), labels, batch);
  std::vector<std::vector<float>> logits(batch);
  for (size_t s = 0; s < batch; ++s)
    logits[s].assign(out.get() + s * labels, out.get() + (s + 1) * labels);
  return logits;
}

}  // namespace maum::engine

#include "engine/src/encoder.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
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

// y[m, n] (ldy) = epilogue(x[m, k] (ldx) . W^T + b), split over the pool in tiles of rows x
// output columns (columns at multiples of the kernels' panel width). Tiling never splits the k sum,
// so each output element is computed the same way whatever m is.
void apply_linear(const kernels::Ops& ops, const Linear& l, const float* x, size_t ldx, float* y,
                  size_t ldy, size_t m, kernels::Epilogue epilogue = kernels::Epilogue::kNone) {
  if (m == 0) return;
  const size_t n = l.n, k = l.k;
  const size_t threads = static_cast<size_t>(pool_threads());
  // Enough tiles to balance the pool, each big enough to amortize a kernel call; below about a
  // million multiply-adds (~10 us) a pool dispatch costs more than it saves.
  const bool small = m * n * k < (size_t(1) << 20);
  const size_t target_tiles = threads == 1 || small ? 1 : threads * 4;
  const size_t panel = kernels::kPackPanel;
  size_t col_block = std::max<size_t>(4 * panel, (n + target_tiles - 1) / target_tiles);
  col_block = (col_block + panel - 1) / panel * panel;
  const size_t col_tiles = (n + col_block - 1) / col_block;
  size_t row_tiles =
      std::max<size_t>(1, std::min((m + 15) / 16, (target_tiles + col_tiles - 1) / col_tiles));
  const size_t row_block = (m + row_tiles - 1) / row_tiles;
  row_tiles = (m + row_block - 1) / row_block;
  auto tile = [&](size_t t, size_t& r0, size_t& rows, size_t& c0, size_t& c1) {
    r0 = (t / col_tiles) * row_block;
    rows = std::min(row_block, m - r0);
    c0 = (t % col_tiles) * col_block;
    c1 = std::min(n, c0 + col_block);
  };

  if (!l.is_quantized()) {
    parallel_for(row_tiles * col_tiles, [&](size_t t) {
      size_t r0, rows, c0, c1;
      tile(t, r0, rows, c0, c1);
      ops.linear_f32(x + r0 * ldx, ldx, l.f32, y + r0 * ldy, ldy, rows, c0, c1, epilogue);
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
    size_t r0, rows, c0, c1;
    tile(t, r0, rows, c0, c1);
    ops.linear_u8s8(q.get() + r0 * k, k, scales.get() + r0, l.quantized, l.bias, y + r0 * ldy, ldy,
                    rows, c0, c1, epilogue);
  });
}

void add_layer_norm(const kernels::Ops& ops, float* x, const float* residual,
                    const LayerNormWeights& ln, size_t rows, size_t n, float eps) {
  // A row costs well under a microsecond: only batches of rows are worth a pool dispatch.
  parallel_ranges(rows, 32, [&](size_t r0, size_t r1) {
    ops.add_layernorm(x + r0 * n, residual ? residual + r0 * n : nullptr, ln.gamma, ln.beta,
                      r1 - r0, n, eps);
  });
}

void relu(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = x[i] > 0.f ? x[i] : 0.f;
}

// Per-thread attention scratch (64-byte aligned, grown as needed, reused across tasks and calls).
float* attention_scratch(size_t floats) {
  struct Scratch {
    std::unique_ptr<void, void (*)(void*)> data{nullptr, std::free};
    size_t floats = 0;
  };
  thread_local Scratch s;
  if (s.floats < floats) {
    void* p = std::aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
    if (!p) throw std::bad_alloc();
    s.data.reset(p);
    s.floats = floats;
  }
  return static_cast<float*>(s.data.get());
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

  const float attention_scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const kernels::Epilogue ffn_epilogue = c.hidden_act == Activation::kGeluErf
                                             ? kernels::Epilogue::kGeluErf
                                             : c.hidden_act == Activation::kGeluTanh
                                                   ? kernels::Epilogue::kGeluTanh
                                                   : kernels::Epilogue::kNone;
  for (const EncoderLayer& layer : w.layers) {
    apply_linear(ops, layer.qkv, x.get(), H, qkv.get(), 3 * H, total);
    parallel_for(batch * heads, [&](size_t task) {
      const size_t s = task / heads, head = task % heads, len = sequences[s].length;
      const float* q = qkv.get() + starts[s] * 3 * H + head * head_dim;
      ops.attention_head(q, q + H, q + 2 * H, 3 * H, len, head_dim, attention_scale,
                         ctx.get() + starts[s] * H + head * head_dim, H,
                         attention_scratch(kernels::attention_scratch_floats(len, head_dim)));
    });
    apply_linear(ops, layer.attn_out, ctx.get(), H, tmp.get(), H, total);
    add_layer_norm(ops, tmp.get(), x.get(), layer.attn_ln, total, H, c.layer_norm_eps);
    std::swap(x, tmp);
    apply_linear(ops, layer.ffn_up, x.get(), H, inter.get(), I, total, ffn_epilogue);
    if (c.hidden_act == Activation::kRelu) relu(inter.get(), total * I);
    apply_linear(ops, layer.ffn_down, inter.get(), I, tmp.get(), H, total);
    add_layer_norm(ops, tmp.get(), x.get(), layer.ffn_ln, total, H, c.layer_norm_eps);
    std::swap(x, tmp);
  }

  // Head on each sequence's [CLS] (its first token).
  Buffer cls(batch * H), dense(batch * H);
  for (size_t s = 0; s < batch; ++s)
    std::memcpy(cls.get() + s * H, x.get() + starts[s] * H, H * sizeof(float));
  if (c.head == HeadType::kBertPooler) {
    apply_linear(ops, w.head_dense, cls.get(), H, dense.get(), H, batch);
    for (size_t i = 0; i < batch * H; ++i) dense.get()[i] = std::tanh(dense.get()[i]);
  } else {
    // HF's ElectraClassificationHead always uses erf GELU, whatever hidden_act says.
    apply_linear(ops, w.head_dense, cls.get(), H, dense.get(), H, batch, kernels::Epilogue::kGeluErf);
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

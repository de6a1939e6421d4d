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

// The forward pass's activation buffers, kept per calling thread and reused across calls: fresh
// multi-megabyte allocations are mmap'd and zero-filled by the kernel on every pass (about a tenth
// of the time at seq 128). Each calling thread has its own, so concurrent classify() calls never
// share one. Buffers only grow; one that outgrew kKeepBytes is returned after the call, so a
// single huge batch does not pin its memory for the thread's lifetime.
class Workspace {
 public:
  enum Slot { kEmb, kX, kQkv, kCtx, kTmp, kInter, kQuant, kQuantScale, kCls, kDense, kOut, kSlots };
  static constexpr size_t kKeepBytes = size_t(64) << 20;

  // 64-byte aligned, uninitialized (every buffer is fully written before it is read).
  void* bytes(Slot slot, size_t n) {
    Buffer& b = slots_[slot];
    if (b.bytes < n || !b.data) {
      const size_t rounded = (std::max<size_t>(n, 64) + 63) / 64 * 64;
      b.data.reset();
      void* p = std::aligned_alloc(64, rounded);
      if (!p) throw std::bad_alloc();
      b.data.reset(p);
      b.bytes = rounded;
    }
    return b.data.get();
  }
  float* floats(Slot slot, size_t n) { return static_cast<float*>(bytes(slot, n * sizeof(float))); }
  void trim() {
    for (Buffer& b : slots_)
      if (b.bytes > kKeepBytes) {
        b.data.reset();
        b.bytes = 0;
      }
  }

 private:
  struct Buffer {
    std::unique_ptr<void, void (*)(void*)> data{nullptr, std::free};
    size_t bytes = 0;
  };
  Buffer slots_[kSlots];
};

Workspace& workspace() {
  thread_local Workspace w;
  return w;
}

// The output columns [begin, end) of a linear layer (begin a multiple of kernels::kPackPanel).
struct Columns {
  size_t begin = 0, end = SIZE_MAX;
};

// y[m, cols] (ldy, y at column 0) = epilogue(x[m, k] (ldx) . W[cols]^T + b[cols]), split over the
// pool in tiles of rows x output columns (columns at multiples of the kernels' panel width).
// Tiling never splits the k sum, so each output element is computed the same way whatever m is.
void apply_linear(const kernels::Ops& ops, const Linear& l, const float* x, size_t ldx, float* y,
                  size_t ldy, size_t m, kernels::Epilogue epilogue = kernels::Epilogue::kNone,
                  Columns columns = {}) {
  if (m == 0) return;
  const size_t first_column = columns.begin, k = l.k;
  const size_t n = std::min(columns.end, l.n) - first_column;
  const size_t threads = static_cast<size_t>(threads_here());
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
  // Runs kernel(r0, rows, c0, c1) for every tile on the pool.
  auto for_each_tile = [&](auto&& kernel) {
    parallel_for(row_tiles * col_tiles, [&](size_t t) {
      const size_t r0 = (t / col_tiles) * row_block;
      const size_t c0 = first_column + (t % col_tiles) * col_block;
      kernel(r0, std::min(row_block, m - r0), c0, std::min(first_column + n, c0 + col_block));
    });
  };

  if (l.is_bf16()) {  // the kernel rounds its rows of x to bf16
    for_each_tile([&](size_t r0, size_t rows, size_t c0, size_t c1) {
      ops.linear_bf16(x + r0 * ldx, ldx, l.bf16, y + r0 * ldy, ldy, rows, c0, c1, epilogue);
    });
    return;
  }
  if (!l.is_quantized()) {
    for_each_tile([&](size_t r0, size_t rows, size_t c0, size_t c1) {
      ops.linear_f32(x + r0 * ldx, ldx, l.f32, y + r0 * ldy, ldy, rows, c0, c1, epilogue);
    });
    return;
  }
  // int8: quantize each activation row once (per-row scale), then the u8 x s8 GEMM per tile.
  // apply_linear runs on the thread that called encode_and_classify: its workspace.
  Workspace& ws = workspace();
  auto* q = static_cast<uint8_t*>(ws.bytes(Workspace::kQuant, m * k));
  float* scales = ws.floats(Workspace::kQuantScale, m);
  parallel_ranges(m, 16, [&](size_t r0, size_t r1) {
    ops.quantize_rows_u8(x + r0 * ldx, ldx, q + r0 * k, k, scales + r0, r1 - r0, k);
  });
  for_each_tile([&](size_t r0, size_t rows, size_t c0, size_t c1) {
    ops.linear_u8s8(q + r0 * k, k, scales + r0, l.quantized, l.bias, y + r0 * ldy, ldy, rows, c0,
                    c1, epilogue);
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

// One forward pass's shapes and packed layout: sequence s's tokens are rows
// [starts[s], starts[s] + length) of every [total, ...] activation matrix.
struct Pass {
  Pass(const ModelConfig& config, const Weights& weights, const kernels::Ops& table,
       const std::vector<SequenceRef>& seqs)
      : c(config), w(weights), ops(table), sequences(seqs) {}
  const ModelConfig& c;
  const Weights& w;
  const kernels::Ops& ops;
  const std::vector<SequenceRef>& sequences;
  std::vector<size_t> starts;
  size_t batch = 0, total = 0;
  size_t H = 0, I = 0, heads = 0, head_dim = 0;
  float attention_scale = 1;
  kernels::Epilogue ffn_epilogue = kernels::Epilogue::kNone;
};

// Lays the (checked) batch out back to back.
void pack(Pass& p) {
  p.starts.resize(p.batch);
  for (size_t s = 0; s < p.batch; ++s) {
    p.starts[s] = p.total;
    p.total += p.sequences[s].length;
  }
}

// Embeddings: word + position + token type (when the model has them), LayerNorm, then the
// projection to H (ELECTRA with E != H). Positions count from 0, or (RoBERTa) from
// pad_token_id + 1 over the non-pad tokens, a pad token taking pad_token_id (HF's
// create_position_ids_from_input_ids); check_sequences bounded both by max_tokens(). Writes x [total, H].
void embed(const Pass& p, Workspace& ws, float* x) {
  const Weights& w = p.w;
  const size_t E = p.c.embedding_size;
  const bool after_padding = p.c.positions == format::PositionIds::kAfterPadding;
  const int32_t pad = p.c.pad_token_id;
  float* emb = ws.floats(Workspace::kEmb, p.total * E);
  parallel_for(p.batch, [&](size_t s) {
    const SequenceRef& seq = p.sequences[s];
    size_t non_pad = 0;
    for (size_t t = 0; t < seq.length; ++t) {
      float* row = emb + (p.starts[s] + t) * E;
      const size_t id = static_cast<size_t>(seq.ids[t]);
      size_t position = t;
      if (after_padding)
        position = static_cast<size_t>(pad) + (seq.ids[t] == pad ? 0 : ++non_pad);
      const float* pos = w.position_embeddings + position * E;
      if (w.word_embeddings_i8) {
        const int8_t* word = w.word_embeddings_i8 + id * E;
        const float scale = w.word_embedding_scales[id];
        for (size_t e = 0; e < E; ++e) row[e] = static_cast<float>(word[e]) * scale + pos[e];
      } else {
        const float* word = w.word_embeddings + id * E;
        for (size_t e = 0; e < E; ++e) row[e] = word[e] + pos[e];
      }
      if (w.token_type_embeddings) {
        const float* type =
            w.token_type_embeddings + (seq.type_ids ? static_cast<size_t>(seq.type_ids[t]) : 0) * E;
        for (size_t e = 0; e < E; ++e) row[e] += type[e];
      }
    }
  });
  add_layer_norm(p.ops, emb, nullptr, w.embedding_ln, p.total, E, p.c.layer_norm_eps);
  if (w.has_projection)
    apply_linear(p.ops, w.embedding_projection, emb, E, x, p.H, p.total);
  else
    std::memcpy(x, emb, p.total * p.H * sizeof(float));
}

// The FFN half of a layer on `rows` rows: out = LayerNorm(ffn(in) + in), inter as scratch.
void feed_forward(const Pass& p, const EncoderLayer& layer, const float* in, float* inter,
                  float* out, size_t rows) {
  apply_linear(p.ops, layer.ffn_up, in, p.H, inter, p.I, rows, p.ffn_epilogue);
  if (p.c.hidden_act == Activation::kRelu) p.ops.relu(inter, rows * p.I);
  apply_linear(p.ops, layer.ffn_down, inter, p.I, out, p.H, rows);
  add_layer_norm(p.ops, out, in, layer.ffn_ln, rows, p.H, p.c.layer_norm_eps);
}

// One encoder layer over every token: x [total, H] in and out (tmp, qkv, ctx, inter: scratch).
void encoder_layer(const Pass& p, const EncoderLayer& layer, float*& x, float*& tmp, float* qkv,
                   float* ctx, float* inter) {
  const size_t H = p.H;
  // int8 models take bf16 attention where the CPU multiplies bf16 natively (twice the fp32 rate)
  // and it was measured faster (the per-CPU choice: kernels::bf16_attention_choice):
  // their activations are already rounded to 8 bits at every linear layer, and the accuracy test
  // (tests/engine) holds int8 results to fp32's. fp32 models keep fp32 attention everywhere (at
  // precision bf16 too: only their linear layers are bf16), and the last layer's single [CLS]
  // query (attention_one_query) is fp32 for all.
  const auto attention_head = layer.qkv.is_quantized() && p.ops.attention_head_bf16
                                  ? p.ops.attention_head_bf16
                                  : p.ops.attention_head;
  apply_linear(p.ops, layer.qkv, x, H, qkv, 3 * H, p.total);
  parallel_for(p.batch * p.heads, [&](size_t task) {
    const size_t s = task / p.heads, head = task % p.heads, len = p.sequences[s].length;
    const float* q = qkv + p.starts[s] * 3 * H + head * p.head_dim;
    attention_head(q, q + H, q + 2 * H, 3 * H, len, p.head_dim, p.attention_scale,
                   ctx + p.starts[s] * H + head * p.head_dim, H,
                   attention_scratch(kernels::attention_scratch_floats(len, p.head_dim)));
  });
  apply_linear(p.ops, layer.attn_out, ctx, H, tmp, H, p.total);
  add_layer_norm(p.ops, tmp, x, layer.attn_ln, p.total, H, p.c.layer_norm_eps);
  std::swap(x, tmp);
  feed_forward(p, layer, x, inter, tmp, p.total);
  std::swap(x, tmp);
}

// The last layer for the [CLS] rows only: the head reads nothing else, and every other token's
// output depends on nothing but its own row from here on. Keys and values are computed for every
// token; the query, attention, out-proj, LayerNorm and FFN for the [CLS] rows only (batch rows,
// not total). qkv's columns are [0, H) query, [H, 3H) key and value; a column range must start at
// a panel boundary, so with an odd H the query is computed for every row. cls [batch, H]: the
// [CLS] rows of x in, the layer's [CLS] outputs out (q_cls, tmp, ctx, inter: scratch).
void last_layer_cls(const Pass& p, const EncoderLayer& layer, const float* x, float* cls,
                    float* q_cls, float* tmp, float* qkv, float* ctx, float* inter) {
  const size_t H = p.H, batch = p.batch;
  const bool query_for_cls_only = H % kernels::kPackPanel == 0;
  apply_linear(p.ops, layer.qkv, x, H, qkv, 3 * H, p.total, kernels::Epilogue::kNone,
               {query_for_cls_only ? H : 0, 3 * H});
  if (query_for_cls_only) {
    apply_linear(p.ops, layer.qkv, cls, H, q_cls, H, batch, kernels::Epilogue::kNone, {0, H});
  } else {
    for (size_t s = 0; s < batch; ++s)
      std::memcpy(q_cls + s * H, qkv + p.starts[s] * 3 * H, H * sizeof(float));
  }
  parallel_for(batch * p.heads, [&](size_t task) {
    const size_t s = task / p.heads, head = task % p.heads, len = p.sequences[s].length;
    const float* kv = qkv + p.starts[s] * 3 * H + head * p.head_dim;
    p.ops.attention_one_query(q_cls + s * H + head * p.head_dim, kv + H, kv + 2 * H, 3 * H, len,
                              p.head_dim, p.attention_scale, ctx + s * H + head * p.head_dim,
                              attention_scratch(len));
  });
  apply_linear(p.ops, layer.attn_out, ctx, H, tmp, H, batch);
  add_layer_norm(p.ops, tmp, cls, layer.attn_ln, batch, H, p.c.layer_norm_eps);
  feed_forward(p, layer, tmp, inter, cls, batch);
}

// The classification head on each sequence's [CLS] (first) row: logits [batch, labels] into out.
void classification_head(const Pass& p, const float* cls, float* dense, float* out) {
  const size_t H = p.H;
  switch (p.c.head) {
    case HeadType::kBertPooler:  // BERT's pooler; RoBERTa's classifier.dense -> tanh
      apply_linear(p.ops, p.w.head_dense, cls, H, dense, H, p.batch);
      p.ops.tanh(dense, p.batch * H);
      break;
    case HeadType::kElectra:
      // HF's ElectraClassificationHead always uses erf GELU, whatever hidden_act says.
      apply_linear(p.ops, p.w.head_dense, cls, H, dense, H, p.batch, kernels::Epilogue::kGeluErf);
      break;
    case HeadType::kDistilbert:  // pre_classifier -> ReLU
      apply_linear(p.ops, p.w.head_dense, cls, H, dense, H, p.batch);
      p.ops.relu(dense, p.batch * H);
      break;
  }
  apply_linear(p.ops, p.w.head_out, dense, H, out, p.c.labels.size(), p.batch);
}

// One forward pass over a checked batch; its steps spread over the pool (intra-op).
std::vector<std::vector<float>> forward(const ModelConfig& c, const Weights& w,
                                        const std::vector<SequenceRef>& sequences) {
  if (sequences.empty()) return {};
  Pass p(c, w, kernels::ops(), sequences);
  p.batch = sequences.size();
  p.H = c.hidden_size;
  p.I = c.intermediate_size;
  p.heads = c.num_heads;
  p.head_dim = p.H / p.heads;
  p.attention_scale = 1.0f / std::sqrt(static_cast<float>(p.head_dim));
  p.ffn_epilogue = c.hidden_act == Activation::kGeluErf    ? kernels::Epilogue::kGeluErf
                   : c.hidden_act == Activation::kGeluTanh ? kernels::Epilogue::kGeluTanh
                                                           : kernels::Epilogue::kNone;
  pack(p);

  Workspace& ws = workspace();
  struct TrimOnExit {
    Workspace& ws;
    ~TrimOnExit() { ws.trim(); }
  } trim_on_exit{ws};
  const size_t H = p.H, batch = p.batch, total = p.total;
  float* x = ws.floats(Workspace::kX, total * H);
  float* qkv = ws.floats(Workspace::kQkv, total * 3 * H);
  float* ctx = ws.floats(Workspace::kCtx, total * H);
  float* tmp = ws.floats(Workspace::kTmp, total * H);
  float* inter = ws.floats(Workspace::kInter, total * p.I);
  float* cls = ws.floats(Workspace::kCls, batch * H);  // [CLS] hidden states, one row per sequence
  float* dense = ws.floats(Workspace::kDense, batch * H);

  // embed -> encoder layers -> the last layer on [CLS] only -> head.
  embed(p, ws, x);
  for (size_t li = 0; li + 1 < w.layers.size(); ++li)
    encoder_layer(p, w.layers[li], x, tmp, qkv, ctx, inter);
  for (size_t s = 0; s < batch; ++s)
    std::memcpy(cls + s * H, x + p.starts[s] * H, H * sizeof(float));
  if (!w.layers.empty())
    last_layer_cls(p, w.layers.back(), x, cls, /*q_cls=*/dense, tmp, qkv, ctx, inter);
  const size_t labels = c.labels.size();
  float* out = ws.floats(Workspace::kOut, batch * labels);
  classification_head(p, cls, dense, out);

  std::vector<std::vector<float>> logits(batch);
  for (size_t s = 0; s < batch; ++s)
    logits[s].assign(out + s * labels, out + (s + 1) * labels);
  return logits;
}

}  // namespace

void check_sequences(const ModelConfig& c, const std::vector<SequenceRef>& sequences) {
  const size_t max_tokens = c.max_tokens();
  for (size_t s = 0; s < sequences.size(); ++s) {
    const SequenceRef& seq = sequences[s];
    if (seq.length == 0) throw InvalidArgument("sequence " + std::to_string(s) + " is empty");
    if (seq.length > max_tokens)
      throw InvalidArgument("sequence " + std::to_string(s) + " has " + std::to_string(seq.length) +
                            " tokens; the model takes at most " + std::to_string(max_tokens));
    for (size_t t = 0; t < seq.length; ++t) {
      if (seq.ids[t] < 0 || static_cast<size_t>(seq.ids[t]) >= c.vocab_size)
        throw InvalidArgument("sequence " + std::to_string(s) + ": token id " +
                              std::to_string(seq.ids[t]) + " is outside the vocabulary (" +
                              std::to_string(c.vocab_size) + ")");
      // A model without token types (type_vocab_size 0: DistilBERT) ignores them, as HF does.
      if (seq.type_ids && c.type_vocab_size > 0 &&
          (seq.type_ids[t] < 0 || static_cast<size_t>(seq.type_ids[t]) >= c.type_vocab_size))
        throw InvalidArgument("sequence " + std::to_string(s) + ": token type id " +
                              std::to_string(seq.type_ids[t]) + " is out of range");
    }
  }
}

std::vector<std::vector<SequenceRef>> split_by_tokens(const std::vector<SequenceRef>& sequences,
                                                      size_t groups) {
  if (groups == 0 || sequences.size() < groups) return {};
  size_t total = 0;
  for (const auto& s : sequences) total += s.length;
  std::vector<std::vector<SequenceRef>> out(groups);
  size_t g = 0, done = 0, largest = 0, in_group = 0;
  for (size_t i = 0; i < sequences.size(); ++i) {
    // Move on once this group holds its share of what is left; leave a sequence for each group to come.
    const size_t left_groups = groups - g;
    if (!out[g].empty() && g + 1 < groups &&
        ((2 * in_group + sequences[i].length) * left_groups >= 2 * (total - done) ||
         sequences.size() - i < left_groups)) {
      largest = std::max(largest, in_group);
      done += in_group;
      in_group = 0;
      ++g;
    }
    out[g].push_back(sequences[i]);
    in_group += sequences[i].length;
  }
  largest = std::max(largest, in_group);
  if (g + 1 < groups || largest * groups * 4 > total * 5) return {};
  return out;
}

std::vector<std::vector<float>> encode_and_classify(const ModelConfig& c, const Weights& w,
                                                    const std::vector<SequenceRef>& sequences) {
  // With several sequences per thread, each thread runs whole forward passes over its own
  // sequences (sequence-parallel): no synchronisation between the steps of a layer, where the
  // intra-op split meets the pool once per matrix product. On 2 Zen 3 cores that took ~10% off
  // the time of batches of short sentences and of BERT-base (docs/PERF.md). The nested steps run
  // inline on their thread, sized for one (threads_here()), so exactly pool_threads() threads work
  // either way. Results are those of one pass over the batch (a row's computation does not depend
  // on its batch-mates), up to the portable table's row blocking (run_batches in model.cpp).
  // The split follows the pool's size, not how many callers compute now: results must not depend
  // on other callers' load, and the portable table's GEMM rounds by rows per call.
  check_sequences(c, sequences);
  const size_t threads = static_cast<size_t>(threads_here());
  if (threads > 1 && sequences.size() >= 2 * threads) {
    const auto groups = split_by_tokens(sequences, threads);
    if (!groups.empty()) {
      std::vector<std::vector<std::vector<float>>> parts(groups.size());
      parallel_for(groups.size(), [&](size_t g) { parts[g] = forward(c, w, groups[g]); });
      std::vector<std::vector<float>> logits;
      logits.reserve(sequences.size());
      for (auto& part : parts)
        for (auto& row : part) logits.push_back(std::move(row));
      return logits;
    }
  }
  return forward(c, w, sequences);
}

}  // namespace maum::engine

#include "engine/src/weights.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <new>
#include <cstring>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "core/src/temperature.h"
#include "engine/src/thread_pool.h"
#include "maum/error.h"

namespace maum::engine {
namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << ']';
  return out.str();
}

class Binder {
 public:
  Binder(Weights& w, const std::set<std::string>& quantized, const kernels::Ops* pack_for,
         const kernels::Ops* bf16_for)
      : w_(w), quantized_(quantized), pack_for_(pack_for), bf16_for_(bf16_for) {}

  // Reads of the tensors the kernels read as they are in the file, and work that reads whole
  // weight matrices (packing, int8 row sums): run on the pool after binding, reads first (the
  // word embeddings, the largest, among them), so that on several threads the reading, the
  // packing and the caller's work beside them (bind_weights' `alongside`) overlap.
  std::vector<std::function<void()>> read_jobs;
  std::vector<std::function<void()>> pack_jobs;
  // Each int8 weight tensor's largest |value|, written by its pack job (QuantizedWeights::narrow).
  std::map<const int8_t*, int> max_abs_by_tensor;
  // Every tensor bound so far.
  std::set<std::string> used;

  const float* f32(const std::string& name, std::vector<int64_t> shape) {
    const core::TensorView& t = get(name, core::DType::F32, shape);
    if (reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
      read_later(t);
      return reinterpret_cast<const float*>(t.data);
    }
    // A valid file may place an F32 tensor at an offset that is not a multiple of 4 (after an
    // odd-sized int8 tensor); reading it in place would be undefined behaviour, so copy it.
    w_.file->load(t);
    auto copy = std::make_unique<float[]>(t.nbytes / sizeof(float));
    std::memcpy(copy.get(), t.data, t.nbytes);
    w_.owned_floats.push_back(std::move(copy));
    return w_.owned_floats.back().get();
  }

  const int8_t* i8(const std::string& name, std::vector<int64_t> shape) {
    const core::TensorView& t = get(name, core::DType::I8, shape);
    read_later(t);
    return reinterpret_cast<const int8_t*>(t.data);
  }

  // The F32 tensor t packed into a new buffer a slab at a time (on the pool, after binding) by a
  // table's packing: size(first, k) is where rows from `first` on go (packing is separable by
  // panels, kernels.h), so only the packed copy is ever resident.
  template <typename Packed>
  const Packed* pack_slabs(const core::TensorView& t, size_t n, size_t k,
                           size_t (*size)(size_t n, size_t k),
                           void (*pack)(const float* w, size_t n, size_t k, Packed* packed)) {
    auto* packed = static_cast<Packed*>(aligned(size(n, k) * sizeof(Packed)));
    pack_jobs.push_back([this, &t, n, k, size, pack, packed] {
      for_each_slab<float>(t, n, k, [&](const float* rows, size_t first, size_t count) {
        pack(rows, count, k, packed + size(first, k));
      });
    });
    return packed;
  }

  Linear linear(const std::string& prefix, size_t n, size_t k) {
    Linear l;
    l.n = n;
    l.k = k;
    const std::string wname = format::tensor::weight(prefix);
    std::vector<int64_t> wshape{static_cast<int64_t>(n), static_cast<int64_t>(k)};
    if (quantized_.count(wname)) {
      const core::TensorView& t = get(wname, core::DType::I8, wshape);
      const float* scale = f32(format::tensor::scale(wname), {static_cast<int64_t>(n)});
      auto row_sum = std::make_unique<int32_t[]>(n);
      const kernels::Ops* ops = pack_for_;
      int8_t* packed = nullptr;
      if (ops) {
        if (size_t bytes = ops->packed_u8s8_size(n, k)) packed = static_cast<int8_t*>(aligned(bytes));
      }
      int32_t* sums = row_sum.get();
      // Each job writes its own node (std::map nodes stay put): the largest |w| of the layer.
      int* max_abs = &max_abs_by_tensor[reinterpret_cast<const int8_t*>(t.data)];
      // Exact in every table, so the selected one's (its SIMD code is part of every cold start).
      auto* stats = kernels::ops().s8_row_stats;
      auto row_stats = [sums, max_abs, k, stats](const int8_t* rows, size_t first, size_t count) {
        *max_abs = std::max(*max_abs, static_cast<int>(stats(rows, count, k, sums + first)));
      };
      if (packed) {
        pack_jobs.push_back([this, &t, n, k, ops, packed, row_stats] {
          for_each_slab<int8_t>(t, n, k, [&](const int8_t* rows, size_t first, size_t count) {
            row_stats(rows, first, count);
            ops->pack_u8s8(rows, count, k, packed + ops->packed_u8s8_size(first, k));
          });
        });
      } else {
        const auto* q = reinterpret_cast<const int8_t*>(w_.file->load(t));
        pack_jobs.push_back([q, n, row_stats] { row_stats(q, 0, n); });
      }
      // The kernels of a table that packed the weights read only the packed copy, never data
      // (the reference path, which reads data, runs only where nothing is packed): with packing,
      // data points at bytes never read (on-demand) or given back.
      l.quantized = {reinterpret_cast<const int8_t*>(t.data), scale, row_sum.get(), n, k};
      l.quantized.packed = packed;
      w_.owned_row_sums.push_back(std::move(row_sum));
    } else if (bf16_for_) {
      // Rounded to bf16 slab by slab as it is read: the fp32 weights are never all in memory.
      const core::TensorView& t = get(wname, core::DType::F32, wshape);
      const uint16_t* packed =
          pack_slabs(t, n, k, bf16_for_->packed_bf16_size, bf16_for_->pack_bf16);
      l.bf16 = {packed, nullptr, n, k};
    } else {
      if (pack_for_ && pack_for_->packed_f32_size(n, k) > 0) {
        const core::TensorView& t = get(wname, core::DType::F32, wshape);
        l.f32.w = reinterpret_cast<const float*>(t.data);  // see the int8 case
        l.f32.packed = pack_slabs(t, n, k, pack_for_->packed_f32_size, pack_for_->pack_f32);
      } else {
        l.f32.w = f32(wname, wshape);
      }
      l.f32.n = n;
      l.f32.k = k;
    }
    l.bias = f32(format::tensor::bias(prefix), {static_cast<int64_t>(n)});
    l.f32.bias = l.bias;
    l.bf16.bias = l.bias;
    return l;
  }

  LayerNormWeights layer_norm(const std::string& prefix, size_t n) {
    return {f32(format::tensor::weight(prefix), {static_cast<int64_t>(n)}),
            f32(format::tensor::bias(prefix), {static_cast<int64_t>(n)})};
  }

 private:
  const core::TensorView& get(const std::string& name, core::DType dtype,
                              const std::vector<int64_t>& shape) {
    const auto& file = *w_.file;
    if (!file.has(name))
      throw FormatError(file.path() + ": missing tensor \"" + name + "\" (expected " +
                        core::dtype_name(dtype) + " " + shape_string(shape) + ")");
    const core::TensorView& t = file.get(name);
    used.insert(name);
    if (t.dtype != dtype || t.shape != shape)
      throw FormatError(file.path() + ": tensor \"" + name + "\" is " + core::dtype_name(t.dtype) +
                        " " + shape_string(t.shape) + ", expected " + core::dtype_name(dtype) +
                        " " + shape_string(shape));
    return t;
  }

  // A tensor the kernels read as it is in the file: its bytes are read into t.data by a job
  // (SafetensorsFile::load reads each tensor into its own place: jobs may run at once).
  void read_later(const core::TensorView& t) {
    const core::SafetensorsFile* file = w_.file.get();
    read_jobs.push_back([file, &t] { file->load(t); });
  }

  // Calls each(rows, first_row, row_count) over a [n, k] tensor a slab of whole pack panels at a
  // time, each read from the file into a small buffer: a weight that is repacked never has its
  // file bytes in the model's memory (on an on-demand file; a whole one gets them given back), and
  // the load touches no more fresh pages than the packed copy needs.
  template <class T, class Each>
  void for_each_slab(const core::TensorView& t, size_t n, size_t k, Each&& each) const {
    constexpr size_t kSlabRows = 4 * kernels::kPackPanel;
    std::vector<T> slab(std::min(n, kSlabRows) * k);
    const core::SafetensorsFile& file = *w_.file;
    for (size_t first = 0; first < n; first += kSlabRows) {
      const size_t count = std::min(kSlabRows, n - first);
      core::TensorView part = t;
      part.data = t.data + first * k * sizeof(T);
      part.nbytes = count * k * sizeof(T);
      file.read_into(part, slab.data());
      each(slab.data(), first, count);
    }
    file.release(t);
  }

  void* aligned(size_t bytes) { return w_.packed.allocate(bytes); }

  Weights& w_;
  const std::set<std::string>& quantized_;
  const kernels::Ops* pack_for_;
  const kernels::Ops* bf16_for_;
};

// Every linear layer of w.
template <class F>
void for_each_linear(Weights& w, F&& f) {
  if (w.has_projection) f(w.embedding_projection);
  for (EncoderLayer& l : w.layers) {
    f(l.qkv);
    f(l.attn_out);
    f(l.ffn_up);
    f(l.ffn_down);
  }
  f(w.head_dense);
  f(w.head_out);
}

}  // namespace

std::unique_ptr<Weights> bind_weights(std::shared_ptr<const core::SafetensorsFile> file,
                                      const ModelConfig& c, const kernels::Ops* pack_for,
                                      const kernels::Ops* bf16_for,
                                      const std::function<void()>& alongside) {
  auto w = std::make_unique<Weights>();
  w->file = std::move(file);
  const std::set<std::string> quantized = format::quantized_tensors(*w->file);
  w->quantized = !quantized.empty();
  if (w->quantized && bf16_for)
    throw InvalidArgument(w->file->path() +
                          ": precision bf16 applies to fp32 models only; this one is int8 "
                          "(quantized) and runs in int8");
  Binder b(*w, quantized, pack_for, bf16_for);
  const auto V = static_cast<int64_t>(c.vocab_size), E = static_cast<int64_t>(c.embedding_size),
             P = static_cast<int64_t>(c.max_position_embeddings),
             T = static_cast<int64_t>(c.type_vocab_size);
  const size_t H = c.hidden_size, I = c.intermediate_size;
  namespace t = format::tensor;
  if (quantized.count(t::kWordEmbeddings)) {
    w->word_embeddings_i8 = b.i8(t::kWordEmbeddings, {V, E});
    w->word_embedding_scales = b.f32(t::kWordEmbeddingScales, {V});
  } else {
    w->word_embeddings = b.f32(t::kWordEmbeddings, {V, E});
  }
  w->position_embeddings = b.f32(t::kPositionEmbeddings, {P, E});
  if (T > 0) w->token_type_embeddings = b.f32(t::kTokenTypeEmbeddings, {T, E});
  w->embedding_ln = b.layer_norm(t::kEmbeddingNorm, c.embedding_size);
  if (c.embedding_size != H) {
    w->has_projection = true;
    w->embedding_projection = b.linear(t::kEmbeddingProjection, H, c.embedding_size);
  }
  for (size_t i = 0; i < c.num_layers; ++i) {
    EncoderLayer l;
    l.qkv = b.linear(t::layer(i, t::kQkv), 3 * H, H);
    l.attn_out = b.linear(t::layer(i, t::kAttentionOut), H, H);
    l.attn_ln = b.layer_norm(t::layer(i, t::kAttentionNorm), H);
    l.ffn_up = b.linear(t::layer(i, t::kFfnUp), I, H);
    l.ffn_down = b.linear(t::layer(i, t::kFfnDown), H, I);
    l.ffn_ln = b.layer_norm(t::layer(i, t::kFfnNorm), H);
    w->layers.push_back(l);
  }
  w->head_dense = b.linear(t::kHeadDense, H, H);
  w->head_out = b.linear(t::kHeadOut, c.labels.size(), H);
  // As strict as the converter: a tensor the config does not call for (a layer beyond num_layers,
  // a stray name) means the config and the weights disagree, and running would silently drop it.
  for (const auto& [name, t] : w->file->tensors())
    if (!b.used.count(name))
      throw FormatError(w->file->path() + ": tensor \"" + name + "\" is not part of the model maum.config describes (" +
                        std::to_string(c.num_layers) + " layers); config and weights disagree");
  std::vector<std::function<void()>> jobs;
  if (alongside) jobs.push_back(alongside);
  for (auto* list : {&b.read_jobs, &b.pack_jobs})
    for (auto& job : *list) jobs.push_back(std::move(job));
  parallel_for(jobs.size(), [&](size_t i) { jobs[i](); });
  for_each_linear(*w, [&](Linear& l) {
    if (!l.is_quantized()) return;
    l.quantized.narrow = b.max_abs_by_tensor.at(l.quantized.data) <= 64;
    ++w->int8_linears;
    if (l.quantized.narrow) ++w->narrow_linears;
  });
  // Everything is read: bytes read at different moments must all be from the same file.
  w->file->check_unchanged();
  return w;
}

}  // namespace maum::engine

// The C API over the C++ library: every entry point catches everything and turns it into a
// maum_status plus a thread-local message.
#include "maum/maum.h"

#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "maum/error.h"
#include "maum/model.h"
#include "maum/runtime.h"
#include "maum/tokenizer.h"

struct maum_model {
  maum::Model model;
};

struct maum_encoding {
  std::vector<int32_t> ids, type_ids;
  std::vector<uint32_t> offsets;
};

namespace {

thread_local std::string last_error;

maum_status fail(maum_status status, const std::string& message) {
  last_error = message;
  return status;
}

template <typename F>
maum_status guarded(F&& body) {
  try {
    last_error.clear();
    body();
    return MAUM_OK;
  } catch (const maum::IoError& e) {
    return fail(MAUM_ERROR_IO, e.what());
  } catch (const maum::FormatError& e) {
    return fail(MAUM_ERROR_FORMAT, e.what());
  } catch (const maum::InvalidArgument& e) {
    return fail(MAUM_ERROR_INVALID_ARGUMENT, e.what());
  } catch (const std::bad_alloc&) {
    return fail(MAUM_ERROR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(MAUM_ERROR_INTERNAL, e.what());
  } catch (...) {
    return fail(MAUM_ERROR_INTERNAL, "unknown error");
  }
}

void require(const void* pointer, const char* what) {
  if (pointer == nullptr) throw maum::InvalidArgument(std::string(what) + " is NULL");
}

}  // namespace

extern "C" {

const char* maum_version(void) { return MAUM_VERSION; }

const char* maum_last_error(void) { return last_error.c_str(); }

maum_status maum_set_num_threads(int threads) {
  return guarded([&] {
    if (threads < 0) throw maum::InvalidArgument("threads must be >= 0 (0: number of cores)");
    maum::set_num_threads(threads);
  });
}

maum_status maum_model_load(const char* path, maum_model** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(path, "path");
    require(out, "out");
    *out = new maum_model{maum::Model::load(path)};
  });
}

void maum_model_free(maum_model* model) { delete model; }

maum_status maum_model_get_info(const maum_model* model, maum_model_info* out) {
  return guarded([&] {
    require(model, "model");
    require(out, "out");
    const maum::ModelInfo& info = model->model.info();
    out->model_type = info.model_type.c_str();
    out->problem_type = info.problem_type.c_str();
    out->weight_type = info.weight_type.c_str();
    out->multi_label = info.multi_label() ? 1 : 0;
    out->temperature = info.temperature;
    out->num_labels = info.labels.size();
    out->hidden_size = info.hidden_size;
    out->num_layers = info.num_layers;
    out->num_heads = info.num_heads;
    out->max_position_embeddings = info.max_position_embeddings;
  });
}

const char* maum_model_label(const maum_model* model, size_t index) {
  if (model == nullptr) return nullptr;
  const auto& labels = model->model.info().labels;
  return index < labels.size() ? labels[index].c_str() : nullptr;
}

maum_status maum_classify(const maum_model* model, const char* const* texts, size_t count,
                          float* probs, float* logits, int32_t* top) {
  return guarded([&] {
    require(model, "model");
    require(probs, "probs");
    if (count == 0) return;
    require(texts, "texts");
    std::vector<std::string> batch;
    batch.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      if (texts[i] == nullptr) throw maum::InvalidArgument("texts[" + std::to_string(i) + "] is NULL");
      batch.emplace_back(texts[i]);
    }
    const auto results = model->model.classify(batch);
    const size_t labels = model->model.info().labels.size();
    for (size_t i = 0; i < count; ++i) {
      std::memcpy(probs + i * labels, results[i].probs.data(), labels * sizeof(float));
      if (logits) std::memcpy(logits + i * labels, results[i].logits.data(), labels * sizeof(float));
      if (top) top[i] = results[i].top;
    }
  });
}

maum_status maum_tokenize(const maum_model* model, const char* text, maum_encoding** out) {
  if (out != nullptr) *out = nullptr;
  return guarded([&] {
    require(model, "model");
    require(text, "text");
    require(out, "out");
    const maum::Encoding e = model->model.tokenizer().encode(text);
    auto* encoding = new maum_encoding{e.ids, e.type_ids, {}};
    encoding->offsets.reserve(2 * e.offsets.size());
    for (const auto& [begin, end] : e.offsets) {
      encoding->offsets.push_back(begin);
      encoding->offsets.push_back(end);
    }
    *out = encoding;
  });
}

size_t maum_encoding_length(const maum_encoding* encoding) {
  return encoding ? encoding->ids.size() : 0;
}
const int32_t* maum_encoding_ids(const maum_encoding* encoding) {
  return encoding ? encoding->ids.data() : nullptr;
}
const int32_t* maum_encoding_type_ids(const maum_encoding* encoding) {
  return encoding ? encoding->type_ids.data() : nullptr;
}
const uint32_t* maum_encoding_offsets(const maum_encoding* encoding) {
  return encoding ? encoding->offsets.data() : nullptr;
}
void maum_encoding_free(maum_encoding* encoding) { delete encoding; }

}  // extern "C"

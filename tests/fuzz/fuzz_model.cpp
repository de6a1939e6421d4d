// libFuzzer target: the model loader on arbitrary bytes: the safetensors container
// (core/src/safetensors, from memory), then, when the header parses, maum.config (parse_config),
// maum.tokenizer (Tokenizer::from_serialized), every tensor's binding and packing (bind_weights
// with the selected kernels, and at precision bf16 for an fp32 file) and forward passes over one
// and five short sequences (intra-op and sequence-parallel). The only acceptable
// failure is maum::Error; the logits must be one per label.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <memory>
#include <vector>

#include "core/src/model_format.h"
#include "core/src/safetensors.h"
#include "engine/kernels/kernels.h"
#include "engine/src/encoder.h"
#include "engine/src/weights.h"
#include "maum/error.h"
#include "maum/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = maum::core::SafetensorsFile::from_bytes(data, size, "fuzz.safetensors");
    if (!file->metadata().count("maum.config")) return 0;
    const maum::format::ModelConfig config = maum::format::parse_config(file->meta("maum.config"), file->path());
    if (file->metadata().count("maum.tokenizer"))
      (void)maum::Tokenizer::from_serialized(file->meta("maum.tokenizer"));
    auto weights = maum::engine::bind_weights(file, config, &maum::kernels::ops());
    // A bounded forward pass: tiny models only (the fuzzer must stay fast).
    if (config.hidden_size * config.intermediate_size > (1u << 16) || config.num_layers > 4) return 0;
    std::vector<int32_t> ids = {0, static_cast<int32_t>(config.vocab_size - 1), 0};
    maum::engine::SequenceRef seq;
    seq.ids = ids.data();
    seq.length = std::min<size_t>(ids.size(), config.max_tokens());
    // One sequence (the intra-op path), then five (sequence-parallel where the pool has threads).
    for (size_t count : {size_t{1}, size_t{5}}) {
      const std::vector<maum::engine::SequenceRef> batch(count, seq);
      auto logits = maum::engine::encode_and_classify(config, *weights, batch);
      if (logits.size() != count || logits[0].size() != config.labels.size()) __builtin_trap();
    }
    // An fp32 model at precision bf16 too: its weights rounded and packed at load.
    if (!weights->quantized) {
      auto bf16 = maum::engine::bind_weights(file, config, &maum::kernels::ops(), &maum::kernels::ops());
      auto logits = maum::engine::encode_and_classify(config, *bf16, {seq});
      if (logits.size() != 1 || logits[0].size() != config.labels.size()) __builtin_trap();
    }
  } catch (const maum::Error&) {
  }
  return 0;
}

// Converts a Hugging Face model folder into one self-contained maum model file (docs/FORMAT.md).
#pragma once
#include <functional>
#include <string>
#include <vector>

namespace maum {

struct ConvertOptions {
  std::string quantize = "none";  // "none" | "int8"
  // int8 only: the encoder's linear weights in [-63, 63] (7 bits) instead of [-127, 127]: faster
  // on CPUs whose best int8 kernel is AVX2 (no VNNI), for a little accuracy (docs/PERF.md).
  bool reduce_range = false;
  // Optional: given the model's labels, the policy JSON to embed as "maum.policy" (throws to
  // reject it). Called before the weights are read, so a bad policy fails before any work.
  // `maum convert --policy FILE` passes maum::policy_json_for_model (maum/analysis.h).
  std::function<std::string(const std::vector<std::string>& labels)> policy;
  bool verbose = false;
};

struct ConvertReport {
  std::string model_type;
  std::string weights_file;  // the weights file read (model.safetensors > pytorch_model.bin > tf_model.h5)
  size_t tensors_written = 0;
  size_t bytes_written = 0;
  std::vector<std::string> skipped;  // checkpoint tensors a classifier does not use
};

// Reads config.json, model.safetensors, pytorch_model.bin or tf_model.h5 (the first present, in that
// order; BERT, ELECTRA, RoBERTa, DistilBERT), the tokenizer files and an optional
// calibration.json from `hf_dir`, writes `out_path` atomically. Throws maum::IoError /
// maum::FormatError naming the file and the problem.
ConvertReport convert_hf_model(const std::string& hf_dir, const std::string& out_path,
                               const ConvertOptions& options = {});

}  // namespace maum

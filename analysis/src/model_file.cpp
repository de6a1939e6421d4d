// Reading and rewriting the policy embedded in a maum model file (metadata "maum.policy").
// Kept apart from analysis.cpp so that users of the pure analysis functions do not pull in the
// safetensors container code.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "core/src/safetensors.h"
#include "maum/analysis.h"
#include "maum/error.h"

namespace maum {

std::optional<Policy> read_model_policy(const std::string& model_path) {
  const auto file = core::SafetensorsFile::open(model_path);
  auto it = file->metadata().find("maum.policy");
  if (it == file->metadata().end()) return std::nullopt;
  return Policy::from_json(it->second, model_path + " metadata \"maum.policy\"");
}

void write_model_policy(const std::string& model_path, const Policy& policy,
                        const std::string& out_path) {
  const auto file = core::SafetensorsFile::open(model_path);
  core::SafetensorsWriter writer;
  for (const auto& kv : file->metadata()) {
    if (kv.first == "maum.config" && policy.temperature) {
      nlohmann::json config;
      try {
        config = nlohmann::json::parse(kv.second);
      } catch (const nlohmann::json::exception& e) {
        throw FormatError(model_path + ": metadata \"maum.config\" is malformed JSON: " + e.what());
      }
      if (!config.is_object())
        throw FormatError(model_path + ": metadata \"maum.config\" is not a JSON object");
      config["temperature"] = *policy.temperature;
      writer.set_metadata(kv.first, config.dump());
    } else if (kv.first != "maum.policy") {
      writer.set_metadata(kv.first, kv.second);
    }
  }
  writer.set_metadata("maum.policy", policy.to_json());
  // Keep the tensors in their file order (the data layout a reader may expect to be unchanged).
  std::vector<const core::TensorView*> views;
  for (const auto& kv : file->tensors()) views.push_back(&kv.second);
  std::sort(views.begin(), views.end(), [](const core::TensorView* a, const core::TensorView* b) {
    return a->data < b->data;
  });
  for (const core::TensorView* v : views) writer.add(v->name, v->dtype, v->shape, v->data, v->nbytes);
  // The writer renames a temporary file over out_path, so rewriting model_path in place is safe
  // even though `file` still maps the old contents.
  writer.write(out_path);
}

}  // namespace maum

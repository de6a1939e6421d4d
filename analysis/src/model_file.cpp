// Reading and rewriting the policy embedded in a maum model file; the format itself is
// core/src/model_format.h. Kept apart from analysis.cpp so that users of the pure analysis
// functions do not pull in the safetensors container code.
#include "core/src/model_format.h"
#include "maum/analysis.h"

namespace maum {

std::optional<Policy> read_model_policy(const std::string& model_path) {
  const auto file = format::open(model_path, core::Reading::kOnDemand);  // the header only
  return embedded_policy(format::policy_json(*file), model_path);
}

std::optional<Policy> embedded_policy(const std::optional<std::string>& policy_json,
                                      const std::string& model_path) {
  if (!policy_json) return std::nullopt;
  return Policy::from_json(*policy_json, model_path + " metadata \"" + format::kPolicyKey + "\"");
}

std::string policy_json_for_model(const std::string& path,
                                  const std::vector<std::string>& labels) {
  const Policy policy = Policy::load(path);
  policy.check_labels(labels, path);
  return policy.to_json();
}

void write_model_policy(const std::string& model_path, const Policy& policy,
                        const std::string& out_path) {
  format::rewrite_policy(model_path, policy.to_json(), policy.temperature, out_path);
}

}  // namespace maum

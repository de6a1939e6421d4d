// One decision per text (tools/maum/decision.h).
#include "tools/maum/decision.h"

#include <utility>

#include "maum/error.h"

namespace maum::cli {

void add_decision_options(CLI::App* cmd, DecisionOptions& options) {
  cmd->add_option("--policy", options.policy_path,
                  "Analysis policy JSON: temperature, thresholds, fallback, entropy flag "
                  "(default: the model's embedded policy, if any)");
  cmd->add_option("--temperature", options.temperature,
                  "Divide logits by this before softmax/sigmoid (overrides the policy's and the "
                  "model's temperature)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--threshold", options.threshold,
                  "Multi-label: one decision threshold for every label, replacing the policy's "
                  "\"threshold\" and \"thresholds\" (default: the policy's, else 0.5)")
      ->check(CLI::Range(0.0, 1.0));
}

Policy resolve_policy(const DecisionOptions& options, const std::string& model_path,
                      const ModelInfo& info, std::string* policy_source) {
  Policy policy = options.policy_path.empty()
                      ? embedded_policy(info.policy_json, model_path).value_or(Policy{})
                      : Policy::load(options.policy_path);
  if (options.temperature) policy.temperature = *options.temperature;
  if (options.threshold) {
    policy.threshold = *options.threshold;
    policy.thresholds.clear();
  }
  if (policy_source) *policy_source = options.policy_path.empty() ? model_path : options.policy_path;
  return policy;
}

AnalysisPipeline make_pipeline(const DecisionOptions& options, const std::string& model_path,
                               const ModelInfo& info, std::optional<LabelMap> remap,
                               std::optional<Fusion> fusion) {
  std::string source;
  Policy policy = resolve_policy(options, model_path, info, &source);
  try {
    return AnalysisPipeline(info.labels, info.multi_label(), info.temperature, std::move(policy),
                            std::move(remap), std::move(fusion));
  } catch (const InvalidArgument& e) {
    // Name the file the policy came from (the pipeline only knows "policy").
    throw InvalidArgument(source + ": " + e.what());
  }
}

}  // namespace maum::cli

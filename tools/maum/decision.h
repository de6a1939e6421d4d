// Internal to the CLI: how every subcommand that decides labels (classify, eval) turns the model's
// logits into one decision per text. The policy comes from --policy or the model's embedded
// "maum.policy"; --temperature and --threshold override it the same way in every subcommand; the
// resulting AnalysisPipeline (temperature, softmax/sigmoid, remap, fusion, thresholds, fallback,
// entropy flag) is applied once per text and every output field is read from its result.
#pragma once
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "maum/analysis.h"
#include "maum/model.h"

namespace maum::cli {

struct DecisionOptions {
  std::string policy_path;            // empty: the model's embedded policy, if any
  std::optional<double> temperature;  // overrides the policy's / model's temperature
  std::optional<double> threshold;    // multi-label: one threshold for every label
};

// Registers --policy, --temperature and --threshold on `cmd`.
void add_decision_options(CLI::App* cmd, DecisionOptions& options);

// The policy in effect: --policy FILE, else the model file's embedded one, else the defaults; then
// the command-line overrides. `policy_source` receives the name to put in messages.
Policy resolve_policy(const DecisionOptions& options, const std::string& model_path,
                      const ModelInfo& info, std::string* policy_source = nullptr);

// The one pipeline every output field derives from. Errors in the policy name its source.
AnalysisPipeline make_pipeline(const DecisionOptions& options, const std::string& model_path,
                               const ModelInfo& info, std::optional<LabelMap> remap = std::nullopt,
                               std::optional<Fusion> fusion = std::nullopt);

}  // namespace maum::cli

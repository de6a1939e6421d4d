// maum calibrate --model M --data dev.tsv: fits the softmax temperature by minimising the mean NLL
// on labelled data (temperature scaling; binary cross-entropy for multi-label models), prints NLL
// and ECE before and after, and writes the temperature into the model's policy (metadata
// "maum.policy" and maum.config's "temperature"), in place or to --out.
#include <algorithm>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "maum/analysis.h"
#include "maum/error.h"
#include "maum/metrics.h"
#include "maum/model.h"
#include "tools/maum/commands.h"

namespace maum::cli {

// Defined in cmd_eval.cpp: the labelled-data options shared with `maum eval`.
std::function<std::pair<LabelledData, std::vector<std::vector<float>>>(const Model&)>
add_labelled_data_options(CLI::App* cmd);

namespace {

struct CalibrateArgs {
  std::string model_path, out_path;
  bool no_write = false, json = false;
  size_t bins = 15;
};

struct Fit {
  double temperature = 1, loss = 0, ece = 0;
};

Fit evaluate_at(double t, bool multi, const std::vector<std::vector<float>>& logits,
                const LabelledData& data, size_t bins) {
  Fit f;
  f.temperature = t;
  std::vector<double> conf;
  std::vector<bool> correct;
  if (multi) {
    f.loss = mean_bce(logits, data.labels, t);
    for (size_t i = 0; i < logits.size(); ++i) {
      const auto p = sigmoid(logits[i], t);
      for (size_t l = 0; l < p.size(); ++l) {
        conf.push_back(p[l]);
        correct.push_back(std::binary_search(data.labels[i].begin(), data.labels[i].end(), l));
      }
    }
  } else {
    std::vector<size_t> truth;
    for (size_t i = 0; i < logits.size(); ++i) {
      truth.push_back(data.labels[i][0]);
      const auto p = softmax(logits[i], t);
      const size_t top = static_cast<size_t>(std::max_element(p.begin(), p.end()) - p.begin());
      conf.push_back(p[top]);
      correct.push_back(top == truth.back());
    }
    f.loss = mean_nll(logits, truth, t);
  }
  f.ece = calibration(conf, correct, bins).ece;
  return f;
}

void run_calibrate(const GlobalOptions& global,
                   const std::function<std::pair<LabelledData, std::vector<std::vector<float>>>(
                       const Model&)>& load,
                   const CalibrateArgs& args) {
  apply_global_options(global);
  const Model model = Model::load(args.model_path);
  const ModelInfo& info = model.info();
  std::optional<Policy> policy = embedded_policy(info.policy_json, args.model_path);
  const bool multi = info.multi_label();
  const auto loaded = load(model);
  const LabelledData& data = loaded.first;
  const auto& logits = loaded.second;
  if (!multi)
    for (size_t i = 0; i < data.labels.size(); ++i)
      if (data.labels[i].size() != 1)
        throw FormatError(data.source + ":" + std::to_string(data.line_numbers[i]) +
                          ": several labels for a single-label model");

  const double current = policy && policy->temperature ? *policy->temperature
                                                       : (multi ? 1.0 : info.temperature);
  const double fitted = multi ? fit_temperature_multi_label(logits, data.labels)
                              : fit_temperature(logits, [&] {
                                  std::vector<size_t> t;
                                  for (const auto& l : data.labels) t.push_back(l[0]);
                                  return t;
                                }());
  std::vector<std::pair<std::string, Fit>> rows = {
      {"uncalibrated (T=1)", evaluate_at(1.0, multi, logits, data, args.bins)}};
  if (current != 1.0) rows.push_back({"current", evaluate_at(current, multi, logits, data, args.bins)});
  rows.push_back({"fitted", evaluate_at(fitted, multi, logits, data, args.bins)});

  Policy updated = policy.value_or(Policy{});
  updated.temperature = fitted;
  const std::string out_path = args.out_path.empty() ? args.model_path : args.out_path;
  if (!args.no_write) write_model_policy(args.model_path, updated, out_path);

  const char* loss_name = multi ? "bce" : "nll";
  if (args.json) {
    nlohmann::ordered_json j;
    j["model"] = args.model_path;
    j["data"] = data.source;
    j["samples"] = data.texts.size();
    j["temperature"] = fitted;
    j["ece_bins"] = args.bins;
    nlohmann::ordered_json r = nlohmann::ordered_json::array();
    for (const auto& row : rows)
      r.push_back({{"name", row.first}, {"temperature", row.second.temperature},
                   {loss_name, row.second.loss}, {"ece", row.second.ece}});
    j["results"] = std::move(r);
    j["written"] = args.no_write ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(out_path);
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << "model: " << args.model_path << "\ndata:  " << data.source << " ("
              << data.texts.size() << " rows)\n"
              << std::left << std::setw(20) << "" << std::right << std::setw(12) << "temperature"
              << std::setw(10) << (multi ? "BCE" : "NLL") << std::setw(10) << "ECE" << "\n"
              << std::fixed << std::setprecision(4);
    for (const auto& row : rows)
      std::cout << std::left << std::setw(20) << row.first << std::right << std::setw(12)
                << row.second.temperature << std::setw(10) << row.second.loss << std::setw(10)
                << row.second.ece << "\n";
    if (args.no_write)
      std::cout << "not written (--no-write)\n";
    else
      std::cout << "wrote temperature " << fitted << " into " << out_path << "\n";
  }
}

}  // namespace

void add_calibrate_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<CalibrateArgs>();
  auto* cmd = app.add_subcommand(
      "calibrate", "Fit the temperature on labelled data (min NLL) and store it in the model");
  cmd->add_option("--model", args->model_path, "Converted model file (.safetensors)")->required();
  auto load = add_labelled_data_options(cmd);
  cmd->add_option("--out", args->out_path,
                  "Write the calibrated model here (default: rewrite --model in place)");
  cmd->add_flag("--no-write", args->no_write, "Only report; do not write the model");
  cmd->add_option("--bins", args->bins, "ECE bins")->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->add_flag("--json", args->json, "One JSON object instead of the text report");
  cmd->callback([&global, args, load]() { run_calibrate(global, load, *args); });
}

}  // namespace maum::cli

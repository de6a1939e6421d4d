// maum eval --model M --data test.tsv: accuracy, per-label precision/recall/F1/support, micro/macro/
// weighted averages (as sklearn's classification_report), confusion matrix (single-label), ECE and
// a reliability diagram. Single- and multi-label, labels as names or indices.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <utility>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "maum/analysis.h"
#include "maum/error.h"
#include "maum/files.h"
#include "maum/metrics.h"
#include "maum/model.h"
#include "tools/maum/commands.h"
#include "tools/maum/decision.h"

namespace maum::cli {
namespace {

struct EvalArgs {
  std::string precision = "fp32";  // --precision
  std::string model_path, reliability_path;
  DecisionOptions decision;
  bool json = false;
  size_t bins = 15;
};

// Logits for every text, classified in chunks. Progress on stderr: a bar redrawn with '\r' on a
// terminal, one line at the end otherwise (no carriage returns in logs).
std::vector<std::vector<float>> collect_logits(const Model& model, const LabelledData& data,
                                               const ClassifyOptions& options, bool progress) {
  const bool terminal = progress && isatty(STDERR_FILENO);
  std::vector<std::vector<float>> logits;
  logits.reserve(data.texts.size());
  const size_t chunk = std::max<size_t>(256, options.batch_size * 4);
  const size_t n = data.texts.size();
  for (size_t begin = 0; begin < n; begin += chunk) {
    const size_t end = std::min(n, begin + chunk);
    std::vector<std::string> texts(data.texts.begin() + begin, data.texts.begin() + end);
    std::vector<Classification> results;
    try {
      results = model.classify(texts, options);
    } catch (const InvalidArgument&) {
      for (size_t i = 0; i < texts.size(); ++i) {
        try {
          model.tokenizer().encode(texts[i]);
        } catch (const InvalidArgument& e) {
          throw InvalidArgument(data.source + ":" + std::to_string(data.line_numbers[begin + i]) +
                                ": " + e.what());
        }
      }
      throw;
    }
    for (auto& r : results) logits.push_back(std::move(r.logits));
    if (terminal) {
      const int width = 30;
      const int filled = static_cast<int>(width * end / n);
      std::cerr << "\r[" << std::string(filled, '#') << std::string(width - filled, ' ') << "] "
                << end << "/" << n << " texts" << std::flush;
    }
  }
  if (terminal)
    std::cerr << "\n";
  else if (progress)
    std::cerr << "maum: classified " << n << "/" << n << " texts\n";
  return logits;
}

}  // namespace

namespace {

struct DataOptions {
  std::string data_path, label_names_path, text_col = "text", label_col = "label", fold;
  std::vector<std::string> where;
  bool no_header = false, quiet = false;
  size_t batch = 32, max_length = 0;
};

LabelledData load_data(const DataOptions& o, const ModelInfo& info) {
  const std::vector<std::string>& labels = info.labels;
  TsvOptions tsv;
  tsv.header = !o.no_header;
  tsv.text_column = o.text_col;
  tsv.label_column = o.label_col;
  tsv.multi_label = info.multi_label();
  for (const auto& w : o.where) {
    const size_t eq = w.find('=');  // checked when the options were parsed
    tsv.where[w.substr(0, eq)] = w.substr(eq + 1);
  }
  if (!o.fold.empty()) tsv.where["fold"] = o.fold;
  if (!o.label_names_path.empty()) tsv.label_names = read_label_names(o.label_names_path);
  LabelledData data = read_labelled_tsv(o.data_path, tsv, labels);
  if (data.texts.empty()) throw InvalidArgument(o.data_path + ": no rows (check --where/--fold)");
  return data;
}

}  // namespace

// Also used by `maum calibrate` (declared in cmd_calibrate.cpp): registers the labelled-data
// options on `cmd`; the returned function reads the data and computes the model's logits on it.
std::function<std::pair<LabelledData, std::vector<std::vector<float>>>(const Model&)>
add_labelled_data_options(CLI::App* cmd) {
  auto o = std::make_shared<DataOptions>();
  cmd->add_option("--data", o->data_path, "Labelled TSV (UTF-8, tab-separated)")->required();
  cmd->add_option("--text-col", o->text_col, "Text column: header name or 0-based index")
      ->capture_default_str();
  cmd->add_option("--label-col", o->label_col,
                  "Label column: a label name or index per row; multi-label: a JSON array "
                  "[\"a\", \"b\"] or comma-separated")
      ->capture_default_str();
  cmd->add_flag("--no-header", o->no_header, "The first line is data (columns by index)");
  cmd->add_option("--where", o->where, "Keep rows whose COLUMN equals VALUE (COLUMN=VALUE)")
      ->check(CLI::Validator(
          [](std::string& w) -> std::string {
            const size_t eq = w.find('=');
            return eq == std::string::npos || eq == 0
                       ? "--where expects COLUMN=VALUE, got \"" + w + "\""
                       : std::string();
          },
          "COLUMN=VALUE"));
  cmd->add_option("--fold", o->fold, "Shorthand for --where fold=N");
  cmd->add_option("--label-names", o->label_names_path,
                  "JSON {\"data label\": \"model label\"} for data labelled with other names");
  cmd->add_option("--batch", o->batch, "Texts per forward pass")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--max-length", o->max_length,
                  "Truncate to this many tokens (default: the model's max positions)")
      ->check(CLI::Range(2, 1 << 20));
  cmd->add_flag("-q,--quiet", o->quiet,
                "No progress on stderr (a bar on a terminal, else one line at the end)");
  return [o](const Model& model) {
    LabelledData data = load_data(*o, model.info());
    ClassifyOptions options;
    options.batch_size = o->batch;
    options.max_length = o->max_length;
    auto logits = collect_logits(model, data, options, !o->quiet);
    return std::make_pair(std::move(data), std::move(logits));
  };
}

namespace {

using DataLoader =
    std::function<std::pair<LabelledData, std::vector<std::vector<float>>>(const Model&)>;

void run_eval(const GlobalOptions& global, const DataLoader& load, const EvalArgs& args) {
  apply_global_options(global);
  const Model model = load_model(args.model_path, args.precision);
  const ModelInfo& info = model.info();
  const bool multi = info.multi_label();
  // The same decision as `maum classify` makes for each text (tools/maum/decision.h).
  const AnalysisPipeline pipeline = make_pipeline(args.decision, args.model_path, info);
  const Policy& policy = pipeline.policy();
  const double temperature = pipeline.temperature();
  // Fail before the evaluation, not after it, when the diagram cannot be written.
  if (!args.reliability_path.empty()) check_output_path(args.reliability_path);

  const auto loaded = load(model);
  const LabelledData& data = loaded.first;
  const std::vector<std::vector<float>>& logits = loaded.second;

  ClassificationReport report;
  Calibration cal;
  double loss = 0;
  if (multi) {
    std::vector<std::vector<size_t>> predicted;
    std::vector<double> probs_flat;
    std::vector<bool> positive_flat;
    for (size_t i = 0; i < logits.size(); ++i) {
      const Analysis a = pipeline.run(logits[i]);
      predicted.push_back(a.predicted);
      const std::vector<double>& p = a.probs;
      for (size_t l = 0; l < p.size(); ++l) {
        probs_flat.push_back(p[l]);
        positive_flat.push_back(std::binary_search(data.labels[i].begin(), data.labels[i].end(), l));
      }
    }
    report = multi_label_report(data.labels, predicted, info.labels);
    cal = calibration(probs_flat, positive_flat, args.bins);
    loss = mean_bce(logits, data.labels, temperature);
  } else {
    std::vector<size_t> truth, predicted;
    std::vector<double> confidence;
    std::vector<bool> correct;
    for (size_t i = 0; i < logits.size(); ++i) {
      if (data.labels[i].size() != 1)
        throw FormatError(data.source + ":" + std::to_string(data.line_numbers[i]) +
                          ": several labels for a single-label model");
      const Analysis a = pipeline.run(logits[i]);
      truth.push_back(data.labels[i][0]);
      // The reported label (a policy's fallback when it is one of the model's labels, else the
      // most probable one: a fallback outside the label set cannot be scored).
      const auto reported = std::find(info.labels.begin(), info.labels.end(), a.label);
      predicted.push_back(reported != info.labels.end()
                              ? static_cast<size_t>(reported - info.labels.begin())
                              : a.dominant);
      confidence.push_back(a.confidence);
      correct.push_back(a.dominant == truth.back());
    }
    report = single_label_report(truth, predicted, info.labels);
    cal = calibration(confidence, correct, args.bins);
    loss = mean_nll(logits, truth, temperature);
  }
  if (!args.reliability_path.empty()) {
    std::ostringstream setting;
    setting << (multi ? "multi-label" : "single-label") << ", temperature " << temperature;
    if (multi) setting << ", threshold " << policy.threshold;
    setting << ", " << report.samples << " rows";
    if (!data.selection.empty()) setting << " where " << data.selection;
    write_file(args.reliability_path,
                      reliability_svg(cal, "Reliability diagram",
                                      {"model: " + args.model_path, "data: " + data.source,
                                       setting.str()}));
  }

  if (args.json) {
    nlohmann::ordered_json j;
    j["model"] = args.model_path;
    j["precision"] = model.info().precision;
    j["data"] = data.source;
    j["samples"] = report.samples;
    j["temperature"] = temperature;
    if (multi) j["threshold"] = policy.threshold;
    j["report"] = nlohmann::ordered_json::parse(report.to_json());
    j[multi ? "bce" : "nll"] = loss;
    j["ece"] = cal.ece;
    j["ece_bins"] = args.bins;
    nlohmann::ordered_json bins = nlohmann::ordered_json::array();
    for (const auto& b : cal.bins)
      bins.push_back({{"lower", b.lower}, {"upper", b.upper}, {"count", b.count},
                      {"confidence", b.mean_confidence}, {"accuracy", b.accuracy}});
    j["reliability"] = std::move(bins);
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << "model: " << args.model_path << " (" << (multi ? "multi-label" : "single-label")
              << ", " << model.info().precision << ", temperature " << temperature;
    if (multi) std::cout << ", threshold " << policy.threshold;
    std::cout << ")\ndata:  " << data.source << " (" << report.samples << " rows"
              << (data.selection.empty() ? "" : " where " + data.selection) << ")\n\n"
              << report.to_text() << "\n"
              << (multi ? "BCE" : "NLL") << ": " << loss << "\n"
              << "ECE (" << args.bins << " bins" << (multi ? ", every sample x label" : "")
              << "): " << cal.ece << "\n";
    if (!args.reliability_path.empty())
      std::cout << "reliability diagram: " << args.reliability_path << "\n";
  }
}

}  // namespace

void add_eval_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand(
      "eval", "Evaluate a model on labelled data: classification report, confusion, ECE");
  cmd->add_option("--model", args->model_path, "Converted model file (.safetensors)")->required();
  add_precision_option(cmd, args->precision);
  const DataLoader load = add_labelled_data_options(cmd);
  add_decision_options(cmd, args->decision);
  cmd->add_option("--reliability", args->reliability_path, "Write a reliability diagram (SVG)");
  cmd->add_option("--bins", args->bins, "ECE bins")->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->add_flag("--json", args->json, "One JSON object instead of the text report");
  cmd->callback([&global, args, load]() { run_eval(global, load, *args); });
}

}  // namespace maum::cli

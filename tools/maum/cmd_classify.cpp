// maum classify --model M.safetensors [TEXT ...]: one JSON object per input text, in input order.
// Texts come from the arguments, or one per line on stdin when there are none.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "maum/error.h"
#include "maum/model.h"
#include "tools/maum/commands.h"

namespace maum::cli {
namespace {

struct ClassifyArgs {
  std::string model_path;
  std::vector<std::string> texts;
  size_t batch = 32;
  size_t max_length = 0;
  float threshold = 0.5f;
};

void print_result(const Model& model, const std::string& text, const Classification& c) {
  const ModelInfo& info = model.info();
  // ordered_json keeps the documented key order and the labels in id order.
  nlohmann::ordered_json out;
  out["text"] = text;
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (size_t i = 0; i < info.labels.size(); ++i) labels[info.labels[i]] = c.probs[i];
  out["labels"] = std::move(labels);
  out["top"] = info.labels[static_cast<size_t>(c.top)];
  out["logits"] = c.logits;
  if (info.multi_label()) {
    nlohmann::ordered_json predicted = nlohmann::ordered_json::array();
    for (int32_t i : c.predicted) predicted.push_back(info.labels[static_cast<size_t>(i)]);
    out["predicted"] = std::move(predicted);
  }
  std::cout << out.dump(-1, ' ', /*ensure_ascii=*/false) << '\n';
}

// Classifies one chunk; on bad text, names its input line (or argument) instead of its index.
void classify_chunk(const Model& model, const std::vector<std::string>& texts, size_t first_number,
                    const char* what, const ClassifyOptions& options) {
  std::vector<Classification> results;
  try {
    results = model.classify(texts, options);
  } catch (const InvalidArgument&) {
    // Only on the error path: find the first text the tokenizer rejects and name it.
    for (size_t i = 0; i < texts.size(); ++i) {
      try {
        model.tokenizer().encode(texts[i]);
      } catch (const InvalidArgument& e) {
        throw InvalidArgument(std::string(what) + " " + std::to_string(first_number + i) + ": " +
                              e.what());
      }
    }
    throw;
  }
  for (size_t i = 0; i < texts.size(); ++i) print_result(model, texts[i], results[i]);
}

void run_classify(const GlobalOptions& global, const ClassifyArgs& args) {
  apply_global_options(global);
  // apply_global_options already printed the ISA line, so time the load here rather than asking
  // Model::load to log (which would repeat it).
  const auto load_started = std::chrono::steady_clock::now();
  const Model model = Model::load(args.model_path);
  if (global.verbose) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                                load_started)
                          .count();
    const ModelInfo& info = model.info();
    std::cerr << "maum: loaded " << args.model_path << " in " << ms << " ms (" << info.model_type
              << ", " << info.num_layers << " layers, hidden " << info.hidden_size << ", "
              << info.labels.size() << " labels, " << info.weight_type << " weights)\n";
  }
  ClassifyOptions options;
  options.batch_size = args.batch;
  options.max_length = args.max_length;
  options.threshold = args.threshold;

  const auto started = std::chrono::steady_clock::now();
  size_t count = 0;
  if (!args.texts.empty()) {
    classify_chunk(model, args.texts, 1, "argument", options);
    count = args.texts.size();
  } else {
    // Stream stdin in chunks so memory stays bounded on large inputs; output order is input order.
    const size_t chunk = std::max<size_t>(256, args.batch * 8);
    std::vector<std::string> lines;
    std::string line;
    size_t first_line = 1;
    auto flush = [&] {
      classify_chunk(model, lines, first_line, "stdin line", options);
      first_line += lines.size();
      count += lines.size();
      lines.clear();
    };
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(std::move(line));
      if (lines.size() == chunk) flush();
    }
    if (!lines.empty()) flush();
  }
  std::cout.flush();
  if (global.verbose) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    std::cerr << "maum: classified " << count << " texts in " << ms << " ms\n";
  }
}

}  // namespace

void add_classify_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<ClassifyArgs>();
  auto* cmd = app.add_subcommand(
      "classify", "Classify texts (arguments, or one per line on stdin); one JSON object per line");
  cmd->add_option("--model", args->model_path, "Converted model file (.safetensors)")
      ->required();
  cmd->add_option("--batch", args->batch, "Texts per forward pass")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-length", args->max_length,
                  "Truncate to this many tokens (default: the model's max positions)")
      ->check(CLI::Range(2, 1 << 20));
  cmd->add_option("--threshold", args->threshold,
                  "Multi-label: labels with probability >= this are \"predicted\"")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("texts", args->texts, "Texts to classify (default: one per line on stdin)");
  cmd->callback([&global, args]() { run_classify(global, *args); });
}

}  // namespace maum::cli

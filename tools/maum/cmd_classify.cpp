// maum classify --model M.safetensors [TEXT ...]: one JSON object per input text, in input order.
// Texts come from the arguments, or one per line on stdin when there are none.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "maum/analysis.h"
#include "maum/error.h"
#include "maum/model.h"
#include "tools/maum/commands.h"
#include "tools/maum/output.h"

namespace maum::cli {
namespace {

struct ClassifyArgs {
  std::string model_path;
  std::vector<std::string> texts;
  size_t batch = 32;
  size_t max_length = 0;
  float threshold = 0.5f;
  // Analysis layer (docs/ANALYSIS.md): any of these, or a policy embedded in the model, adds an
  // "analysis" object to each result.
  std::string policy_path, remap_path, fuse_path, fuse_inputs_path, split;
  std::string invalid_utf8 = "error";
};

// The analysis applied to each result (absent: plain classification output).
struct AnalysisSetup {
  std::optional<AnalysisPipeline> pipeline;
  bool split_sentences = false;
  std::vector<std::map<std::string, std::vector<double>>> fusion_inputs;  // per input text
};

AnalysisSetup make_analysis(const Model& model, const ClassifyArgs& args) {
  AnalysisSetup setup;
  const ModelInfo& info = model.info();
  std::optional<Policy> policy = args.policy_path.empty() ? read_model_policy(args.model_path)
                                                          : Policy::load(args.policy_path);
  setup.split_sentences = args.split == "sentences";
  if (!policy && args.remap_path.empty() && args.fuse_path.empty() && !setup.split_sentences)
    return setup;
  std::optional<LabelMap> remap;
  if (!args.remap_path.empty()) remap = LabelMap::load(args.remap_path, info.labels);
  std::optional<Fusion> fusion;
  if (!args.fuse_path.empty()) {
    fusion = Fusion::load(args.fuse_path, remap ? remap->target() : info.labels);
    if (args.fuse_inputs_path.empty())
      throw InvalidArgument("--fuse needs --fuse-inputs (JSON lines of external probabilities)");
    std::ifstream in(args.fuse_inputs_path, std::ios::binary);
    if (!in) throw IoError("cannot open " + args.fuse_inputs_path);
    std::string line;
    size_t number = 0;
    while (std::getline(in, line)) {
      ++number;
      const std::string where = args.fuse_inputs_path + ":" + std::to_string(number);
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        throw FormatError(where + ": malformed JSON: " + e.what());
      }
      if (!j.is_object()) throw FormatError(where + ": expected {\"input name\": {label: p}}");
      std::map<std::string, std::vector<double>> inputs;
      try {
        for (auto it = j.begin(); it != j.end(); ++it)
          inputs[it.key()] = fusion->parse_input(it.key(), it.value().dump());
        for (const auto& name : fusion->input_names())
          if (!inputs.count(name)) throw InvalidArgument("missing input \"" + name + "\"");
      } catch (const Error& e) {
        throw InvalidArgument(where + ": " + e.what());
      }
      setup.fusion_inputs.push_back(std::move(inputs));
    }
  }
  if (fusion && !args.texts.empty() && setup.fusion_inputs.size() < args.texts.size())
    throw InvalidArgument("--fuse-inputs has " + std::to_string(setup.fusion_inputs.size()) +
                          " lines for " + std::to_string(args.texts.size()) + " texts");
  try {
    setup.pipeline.emplace(info.labels, info.multi_label(), info.temperature,
                           policy.value_or(Policy{}), std::move(remap), std::move(fusion));
  } catch (const InvalidArgument& e) {
    // Name the file the policy came from (the pipeline only knows "policy").
    throw InvalidArgument((args.policy_path.empty() ? args.model_path : args.policy_path) + ": " +
                          e.what());
  }
  return setup;
}

const std::map<std::string, std::vector<double>>& fusion_inputs_for(const AnalysisSetup& setup,
                                                                     size_t index) {
  static const std::map<std::string, std::vector<double>> none;
  if (!setup.pipeline || !setup.pipeline->fusion()) return none;
  if (index >= setup.fusion_inputs.size())
    throw InvalidArgument("--fuse-inputs has " + std::to_string(setup.fusion_inputs.size()) +
                          " lines, fewer than the input texts");
  return setup.fusion_inputs[index];
}

void print_result(const Model& model, const std::string& text, const Classification& c,
                  const AnalysisSetup& setup, size_t index) {
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
  if (setup.pipeline)
    out["analysis"] = nlohmann::ordered_json::parse(
        setup.pipeline->run(c.logits, fusion_inputs_for(setup, index)).to_json());
  std::cout << out.dump(-1, ' ', /*ensure_ascii=*/false) << '\n';
}

// Classifies one chunk; on bad text, names its input line (or argument) instead of its index.
void classify_chunk(const Model& model, const std::vector<std::string>& texts, size_t first_number,
                    const char* what, const ClassifyOptions& options,
                    const AnalysisSetup& setup) {
  // --split sentences: classify every sentence; each text's result lists them and their summary.
  std::vector<std::string> sentences;
  std::vector<size_t> sentence_begin;
  if (setup.split_sentences) {
    for (const auto& text : texts) {
      sentence_begin.push_back(sentences.size());
      for (auto& s : split_sentences(text)) sentences.push_back(std::move(s));
    }
    sentence_begin.push_back(sentences.size());
  }
  std::vector<Classification> results;
  try {
    results = model.classify(setup.split_sentences ? sentences : texts, options);
  } catch (const InvalidArgument&) {
    // Only on the error path: find the first text the tokenizer rejects and name it.
    for (size_t i = 0; i < texts.size(); ++i) {
      try {
        model.tokenizer().encode(texts[i]);
      } catch (const InvalidArgument& e) {
        // The texts before the bad one still get their results, as they would one at a time.
        if (i > 0) {
          classify_chunk(model, std::vector<std::string>(texts.begin(), texts.begin() + i),
                         first_number, what, options, setup);
          std::cout.flush();
        }
        const std::string message = e.what();
        const bool utf8 = message.find("UTF-8") != std::string::npos;
        throw InvalidArgument(std::string(what) + " " + std::to_string(first_number + i) + ": " +
                              message + (utf8 ? kInvalidUtf8Hint : ""));
      }
    }
    throw;
  } catch (const FormatError& e) {
    // "input K: ..." (a non-finite logit): K is an index in this chunk. Results do not depend on
    // batch-mates, so classifying one text at a time prints the same results for every text
    // before the bad one, then names its input line.
    if (texts.size() == 1) {
      const std::string message = e.what();
      const size_t colon = message.rfind("input ", 0) == 0 ? message.find(": ") : std::string::npos;
      throw FormatError(std::string(what) + " " + std::to_string(first_number) + ": " +
                        (colon == std::string::npos ? message : message.substr(colon + 2)));
    }
    for (size_t i = 0; i < texts.size(); ++i)
      classify_chunk(model, {texts[i]}, first_number + i, what, options, setup);
    throw;
  }
  if (!setup.split_sentences) {
    for (size_t i = 0; i < texts.size(); ++i)
      print_result(model, texts[i], results[i], setup, first_number - 1 + i);
    return;
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    nlohmann::ordered_json out;
    out["text"] = texts[i];
    out["sentences"] = nlohmann::ordered_json::array();
    std::vector<Analysis> analyses;
    for (size_t k = sentence_begin[i]; k < sentence_begin[i + 1]; ++k) {
      analyses.push_back(setup.pipeline->run(results[k].logits, fusion_inputs_for(setup, first_number - 1 + i)));
      out["sentences"].push_back({{"text", sentences[k]},
                                  {"analysis", nlohmann::ordered_json::parse(analyses.back().to_json())}});
    }
    out["summary"] = nlohmann::ordered_json::parse(summarize(analyses).to_json());
    std::cout << out.dump(-1, ' ', false) << '\n';
  }
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
  const AnalysisSetup setup = make_analysis(model, args);
  // One temperature per output line: with a policy, "labels" and "top" use the one its
  // "analysis" uses (the policy's if it sets one, else the model's).
  if (setup.pipeline) options.temperature = setup.pipeline->temperature();

  const auto started = std::chrono::steady_clock::now();
  size_t count = 0;
  const bool replace_invalid = args.invalid_utf8 == "replace";
  auto repaired = [&](std::string text) {
    return replace_invalid ? maum::replace_invalid_utf8(text) : text;
  };
  if (!args.texts.empty()) {
    std::vector<std::string> texts;
    for (const auto& text : args.texts) texts.push_back(repaired(text));
    classify_chunk(model, texts, 1, "argument", options, setup);
    count = args.texts.size();
  } else {
    // Stream stdin in chunks so memory stays bounded on large inputs; output order is input order.
    const size_t chunk = std::max<size_t>(256, args.batch * 8);
    std::vector<std::string> lines;
    std::string line;
    size_t first_line = 1;
    auto flush = [&] {
      classify_chunk(model, lines, first_line, "stdin line", options, setup);
      first_line += lines.size();
      count += lines.size();
      lines.clear();
      check_stdout();  // stop at a full disk or closed pipe, not after the whole input
    };
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(repaired(std::move(line)));
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
      ->check(CLI::Range(1, 1 << 20));
  cmd->add_option("--max-length", args->max_length,
                  "Truncate to this many tokens (default: the model's max positions)")
      ->check(CLI::Range(2, 1 << 20));
  cmd->add_option("--threshold", args->threshold,
                  "Multi-label: labels with probability >= this are \"predicted\"")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--policy", args->policy_path,
                  "Analysis policy JSON (default: the model's embedded policy, if any)");
  cmd->add_option("--remap", args->remap_path, "Label map JSON: report analysis in its target labels");
  cmd->add_option("--fuse", args->fuse_path, "Fusion spec JSON (weights, maps, external inputs)");
  cmd->add_option("--fuse-inputs", args->fuse_inputs_path,
                  "JSON lines, one per input text: {\"input\": {label: p}} for --fuse");
  cmd->add_option("--split", args->split, "sentences: analyse each sentence and summarize")
      ->check(CLI::IsMember({"sentences"}));
  add_invalid_utf8_option(cmd, args->invalid_utf8);
  cmd->add_option("texts", args->texts, "Texts to classify (default: one per line on stdin)");
  cmd->callback([&global, args]() { run_classify(global, *args); });
}

}  // namespace maum::cli

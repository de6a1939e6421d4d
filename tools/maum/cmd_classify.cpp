// maum classify --model M.safetensors [TEXT ...]: one JSON object per input text, in input order.
// Texts come from the arguments, or one per line on stdin when there are none.
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
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
#include "tools/maum/decision.h"
#include "tools/maum/output.h"

namespace maum::cli {
namespace {

// Whether stdin is a pipe, socket or terminal (a producer that may wait for our answers) rather
// than a regular file.
bool stdin_is_interactive() {
  struct stat st {};
  if (fstat(STDIN_FILENO, &st) != 0) return false;
  return S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode);
}

// Reads lines from a file descriptor with an optional time limit per call (poll), so a partial
// batch need not wait for a line that has not been written yet.
class LineReader {
 public:
  enum class Status { kLine, kTimeout, kEnd };
  explicit LineReader(int fd) : fd_(fd) {}

  // The next line without its '\n' (a last line without one too). timeout_ms < 0: no limit.
  Status next(std::string& line, int timeout_ms) {
    while (true) {
      const size_t nl = buffer_.find('\n', begin_);
      if (nl != std::string::npos) {
        line.assign(buffer_, begin_, nl - begin_);
        begin_ = nl + 1;
        if (begin_ >= (1u << 16) && begin_ * 2 >= buffer_.size()) {
          buffer_.erase(0, begin_);
          begin_ = 0;
        }
        return Status::kLine;
      }
      if (eof_) {
        if (begin_ == buffer_.size()) return Status::kEnd;
        line.assign(buffer_, begin_, std::string::npos);
        begin_ = buffer_.size();
        return Status::kLine;
      }
      if (timeout_ms >= 0) {
        pollfd p{fd_, POLLIN, 0};
        const int ready = poll(&p, 1, timeout_ms);
        if (ready == 0) return Status::kTimeout;
        if (ready < 0 && errno != EINTR)
          throw IoError(std::string("cannot read stdin: ") + std::strerror(errno));
        if (ready < 0) continue;
      }
      char chunk[1 << 16];
      const ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n < 0) {
        if (errno == EINTR) continue;
        throw IoError(std::string("cannot read stdin: ") + std::strerror(errno));
      }
      if (n == 0)
        eof_ = true;
      else
        buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buffer_;
  size_t begin_ = 0;
  bool eof_ = false;
};

struct ClassifyArgs {
  std::string precision = "fp32";  // --precision
  std::string model_path;
  std::vector<std::string> texts;
  size_t batch = 32;
  size_t max_length = 0;
  // The decision (policy, --temperature, --threshold) and the analysis layer
  // (docs/ANALYSIS.md): a policy (given or embedded), a remap, a fusion or --split also add an
  // "analysis" object to each result.
  DecisionOptions decision;
  std::string remap_path, fuse_path, fuse_inputs_path, split;
  bool renormalize = false;
  std::string invalid_utf8 = "error";
};

// The one pipeline every output field derives from, and what it needs per text.
struct AnalysisSetup {
  std::optional<AnalysisPipeline> pipeline;
  bool show_analysis = false;  // print the "analysis" object
  bool split_sentences = false;
  std::vector<std::map<std::string, std::vector<double>>> fusion_inputs;  // per input text
};

AnalysisSetup make_analysis(const Model& model, const ClassifyArgs& args) {
  AnalysisSetup setup;
  const ModelInfo& info = model.info();
  setup.split_sentences = args.split == "sentences";
  setup.show_analysis = !args.decision.policy_path.empty() ||
                        info.policy_json.has_value() ||
                        !args.remap_path.empty() || !args.fuse_path.empty() ||
                        setup.split_sentences;
  std::optional<LabelMap> remap;
  if (!args.remap_path.empty()) remap = LabelMap::load(args.remap_path, info.labels);
  std::optional<Fusion> fusion;
  if (!args.fuse_path.empty()) {
    fusion = Fusion::load(args.fuse_path, remap ? remap->target() : info.labels);
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
          inputs[it.key()] = fusion->parse_input(it.key(), it.value().dump(), args.renormalize);
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
  setup.pipeline.emplace(
      make_pipeline(args.decision, args.model_path, info, std::move(remap), std::move(fusion)));
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

void print_result(const std::string& text, const Classification& c, const AnalysisSetup& setup,
                  size_t index) {
  // The one decision for this text; every field below is read from it (the raw logits aside).
  const Analysis a = setup.pipeline->run(c.logits, fusion_inputs_for(setup, index));
  // ordered_json keeps the documented key order and the labels in id order.
  nlohmann::ordered_json out;
  out["text"] = text;
  nlohmann::ordered_json labels = nlohmann::ordered_json::object();
  for (size_t i = 0; i < a.labels.size(); ++i) labels[a.labels[i]] = a.probs[i];
  out["labels"] = std::move(labels);
  out["top"] = a.label;
  out["logits"] = c.logits;
  if (a.multi_label) {
    nlohmann::ordered_json predicted = nlohmann::ordered_json::array();
    for (size_t i : a.predicted) predicted.push_back(a.labels[i]);
    out["predicted"] = std::move(predicted);
  }
  if (setup.show_analysis) out["analysis"] = nlohmann::ordered_json::parse(a.to_json());
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
      print_result(texts[i], results[i], setup, first_number - 1 + i);
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
  const Model model = load_model(args.model_path, args.precision);
  if (global.verbose) {
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                                load_started)
                          .count();
    std::cerr << "maum: loaded " << args.model_path << " in " << ms << " ms ("
              << describe(model.info()) << ")\n";
  }
  ClassifyOptions options;
  options.batch_size = args.batch;
  options.max_length = args.max_length;
  const AnalysisSetup setup = make_analysis(model, args);

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
    // Stdin in chunks so memory stays bounded on large inputs; output order is input order and
    // each chunk's results are flushed as soon as it is done. A pipe or terminal may be a
    // co-process waiting for each answer: its chunk is one batch, and a partial batch waits at
    // most kStreamWaitMs for more lines. A regular file is read in larger chunks.
    constexpr int kStreamWaitMs = 5;
    const bool streaming = stdin_is_interactive();
    const size_t chunk = streaming ? args.batch : std::max<size_t>(256, args.batch * 8);
    LineReader reader(STDIN_FILENO);
    std::vector<std::string> lines;
    std::string line;
    size_t first_line = 1;
    auto flush = [&] {
      classify_chunk(model, lines, first_line, "stdin line", options, setup);
      std::cout.flush();
      first_line += lines.size();
      count += lines.size();
      lines.clear();
      check_stdout();  // stop at a full disk or closed pipe, not after the whole input
    };
    auto first_pending = std::chrono::steady_clock::now();
    while (true) {
      int timeout_ms = -1;
      if (streaming && !lines.empty()) {
        const auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - first_pending)
                                .count();
        timeout_ms = static_cast<int>(std::max<long long>(0, kStreamWaitMs - waited));
      }
      const LineReader::Status status = reader.next(line, timeout_ms);
      if (status == LineReader::Status::kEnd) break;
      if (status == LineReader::Status::kTimeout) {
        flush();
        continue;
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (lines.empty()) first_pending = std::chrono::steady_clock::now();
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
  add_precision_option(cmd, args->precision);
  cmd->add_option("--batch", args->batch,
                  "Texts per forward pass (on a pipe or terminal also the most lines answered "
                  "together; a partial batch waits at most 5 ms for more)")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--max-length", args->max_length,
                  "Truncate to this many tokens, [CLS] and [SEP] included (default: the model's "
                  "max positions)")
      ->check(CLI::Range(2, 1 << 20));
  add_decision_options(cmd, args->decision);
  cmd->add_option("--remap", args->remap_path, "Label map JSON: report in its target labels");
  auto* fuse =
      cmd->add_option("--fuse", args->fuse_path, "Fusion spec JSON (weights, maps, external inputs)");
  auto* fuse_inputs = cmd->add_option(
      "--fuse-inputs", args->fuse_inputs_path,
      "JSON lines, one per input text: {\"input\": {label: p}} for --fuse (probabilities: finite, "
      ">= 0, summing to 1 within 1e-3)");
  fuse->needs(fuse_inputs);
  fuse_inputs->needs(fuse);
  cmd->add_flag("--renormalize", args->renormalize,
                "--fuse-inputs: divide each vector by its sum instead of requiring it to sum to 1");
  cmd->add_option("--split", args->split, "sentences: analyse each sentence and summarize")
      ->check(CLI::IsMember({"sentences"}));
  add_invalid_utf8_option(cmd, args->invalid_utf8);
  cmd->add_option("texts", args->texts, "Texts to classify (default: one per line on stdin)");
  cmd->callback([&global, args]() { run_classify(global, *args); });
}

}  // namespace maum::cli

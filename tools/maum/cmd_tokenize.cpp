// maum tokenize --vocab DIR | --model M.safetensors [--max-length N] [--invalid-utf8 error|replace]
// Reads one text per line on stdin and writes one JSON object per line, in input order:
//   {"ids": [...], "type_ids": [...], "offsets": [[begin, end], ...]}
// Offsets are in Unicode code points of the line, as Hugging Face's bindings report them.
#include <charconv>
#include <iostream>
#include <string>
#include <vector>

#include "maum/error.h"
#include "maum/tokenizer.h"
#include "tools/maum/commands.h"
#include "tools/maum/output.h"

namespace maum::cli {
namespace {

struct TokenizeArgs {
  std::string vocab_dir;
  std::string model_path;
  size_t max_length = 0;
  std::string invalid_utf8 = "error";
};

template <typename T>
void append_number(std::string& out, T value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

void append_json(std::string& out, const Encoding& e) {
  out += "{\"ids\": [";
  for (size_t i = 0; i < e.ids.size(); ++i) {
    if (i) out += ", ";
    append_number(out, e.ids[i]);
  }
  out += "], \"type_ids\": [";
  for (size_t i = 0; i < e.type_ids.size(); ++i) {
    if (i) out += ", ";
    append_number(out, e.type_ids[i]);
  }
  out += "], \"offsets\": [";
  for (size_t i = 0; i < e.offsets.size(); ++i) {
    if (i) out += ", ";
    out += '[';
    append_number(out, e.offsets[i].first);
    out += ", ";
    append_number(out, e.offsets[i].second);
    out += ']';
  }
  out += "]}\n";
}

Tokenizer load_tokenizer(const TokenizeArgs& args) {
  if (!args.vocab_dir.empty()) return Tokenizer::from_dir(args.vocab_dir);
  return Tokenizer::from_model_file(args.model_path);  // embedded at conversion
}

// Encodes one chunk of lines and prints them; on invalid UTF-8, prints the lines before the bad
// one and names it.
void tokenize_chunk(const Tokenizer& tokenizer, const std::vector<std::string>& lines,
                    size_t first_line, const EncodeOptions& options, int threads) {
  std::vector<Encoding> encodings;
  std::string out;
  try {
    encodings = tokenizer.encode_batch(lines, options, threads);
  } catch (const InvalidArgument&) {
    for (size_t i = 0; i < lines.size(); ++i) {
      Encoding e;
      try {
        e = tokenizer.encode(lines[i], options);
      } catch (const InvalidArgument& error) {
        std::cout << out;
        std::cout.flush();
        throw InvalidArgument("stdin line " + std::to_string(first_line + i) + ": " + error.what() +
                              kInvalidUtf8Hint);
      }
      append_json(out, e);
    }
    throw;
  }
  for (const Encoding& e : encodings) append_json(out, e);
  std::cout << out;
}

void run_tokenize(const GlobalOptions& global, const TokenizeArgs& args) {
  apply_global_options(global);
  if (args.vocab_dir.empty() == args.model_path.empty())
    throw CLI::ValidationError("tokenize: give exactly one of --vocab DIR or --model M.safetensors");
  const Tokenizer tokenizer = load_tokenizer(args);
  EncodeOptions options;
  options.max_length = args.max_length;
  options.invalid_utf8 = args.invalid_utf8 == "replace" ? InvalidUtf8::kReplace : InvalidUtf8::kError;

  constexpr size_t kChunk = 4096;  // bounded memory on large inputs; output stays in input order
  std::vector<std::string> lines;
  std::string line;
  size_t first_line = 1;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    if (lines.size() == kChunk) {
      tokenize_chunk(tokenizer, lines, first_line, options, global.threads);
      first_line += lines.size();
      lines.clear();
      check_stdout();  // stop at a full disk or closed pipe, not after the whole input
    }
  }
  if (!lines.empty()) tokenize_chunk(tokenizer, lines, first_line, options, global.threads);
  std::cout.flush();
}

}  // namespace

void add_tokenize_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<TokenizeArgs>();
  auto* cmd = app.add_subcommand(
      "tokenize", "Tokenize stdin lines as Hugging Face tokenizers would (JSON per line: ids, type_ids, offsets)");
  auto* vocab = cmd->add_option("--vocab", args->vocab_dir,
                                "Tokenizer folder (tokenizer.json, or vocab.txt + tokenizer_config.json, or a "
                                "byte-level BPE vocab.json + merges.txt + tokenizer_config.json)");
  auto* model = cmd->add_option("--model", args->model_path, "Converted model (.safetensors) with its tokenizer");
  vocab->excludes(model);
  cmd->add_option("--max-length", args->max_length,
                  "Truncate to N tokens including [CLS] and [SEP] (<s> and </s>), so at least 2 (default: no "
                  "truncation)")
      ->check(CLI::Range(2, 1 << 20));
  add_invalid_utf8_option(cmd, args->invalid_utf8);
  cmd->callback([&global, args]() { run_tokenize(global, *args); });
}

}  // namespace maum::cli

// Internal to the CLI: every subcommand registers itself on the app. Options shared by all of
// them live in GlobalOptions and are parsed before any subcommand callback runs.
#pragma once
#include <string>

#include <CLI/CLI.hpp>

#include "maum/error.h"
#include "maum/model.h"

namespace maum::cli {

struct GlobalOptions {
  int threads = 0;       // 0: number of cores
  bool verbose = false;  // timings, chosen ISA and kernels on stderr
};

// Applies the global options to the library (thread count) and, with --verbose, prints the
// run-time ISA/kernels line. Each subcommand calls it first.
void apply_global_options(const GlobalOptions& global);

// --invalid-utf8 error|replace for the commands that read text ("error" by default), and the hint
// their invalid-UTF-8 errors end with.
void add_invalid_utf8_option(CLI::App* cmd, std::string& value);
inline constexpr const char* kInvalidUtf8Hint =
    " (use --invalid-utf8 replace to replace invalid bytes with U+FFFD)";

// An output file the command will write at its end: checks now, before any long work, that it can
// be created or overwritten (the OS reason in the IoError otherwise) without leaving a file behind.
void check_output_path(const std::string& path);

// Adds --threads and -v/--verbose to a subcommand (they also work before the subcommand), so its
// --help lists them.
void add_global_options(CLI::App* cmd, GlobalOptions& global);

// --precision fp32|bf16 for the commands that load a model (default fp32: the file's weights as
// they are); `value` is then parsed with maum::parse_precision.
void add_precision_option(CLI::App* cmd, std::string& value);

// Runs load() (a Model::load, or a Server that loads its models) at `precision`: a precision a
// model cannot run at (bf16 for an int8 model) is a usage error (exit status 2) like a bad option
// value, not a failure of the model file.
template <class Load>
auto loading_at(Precision precision, Load&& load) -> decltype(load()) {
  try {
    return load();
  } catch (const InvalidArgument& e) {
    if (precision == Precision::kFp32) throw;
    throw CLI::ValidationError("--precision", e.what());
  }
}

// Model::load(path) at the --precision value.
Model load_model(const std::string& path, const std::string& precision);

void add_convert_command(CLI::App& app, GlobalOptions& global);
void add_classify_command(CLI::App& app, GlobalOptions& global);
void add_tokenize_command(CLI::App& app, GlobalOptions& global);
void add_eval_command(CLI::App& app, GlobalOptions& global);
void add_calibrate_command(CLI::App& app, GlobalOptions& global);
void add_bench_command(CLI::App& app, GlobalOptions& global);
void add_serve_command(CLI::App& app, GlobalOptions& global);
void add_flow_command(CLI::App& app, GlobalOptions& global);

}  // namespace maum::cli

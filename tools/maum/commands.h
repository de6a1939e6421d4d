// Internal to the CLI: every subcommand registers itself on the app. Options shared by all of
// them live in GlobalOptions and are parsed before any subcommand callback runs.
#pragma once
#include <string>

#include <CLI/CLI.hpp>

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

void add_convert_command(CLI::App& app, GlobalOptions& global);
void add_classify_command(CLI::App& app, GlobalOptions& global);
void add_tokenize_command(CLI::App& app, GlobalOptions& global);
void add_eval_command(CLI::App& app, GlobalOptions& global);
void add_calibrate_command(CLI::App& app, GlobalOptions& global);
void add_bench_command(CLI::App& app, GlobalOptions& global);
void add_serve_command(CLI::App& app, GlobalOptions& global);
void add_flow_command(CLI::App& app, GlobalOptions& global);

}  // namespace maum::cli

// maum: classify text with BERT-family models, convert Hugging Face checkpoints, tokenize,
// evaluate, calibrate, benchmark and serve over HTTP. Each subcommand lives in its own cmd_*.cpp.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "maum/error.h"
#include "maum/runtime.h"
#include "tools/maum/commands.h"
#include "tools/maum/output.h"

namespace maum::cli {

void apply_global_options(const GlobalOptions& global) {
  maum::set_num_threads(global.threads);
  if (global.verbose) std::cerr << maum::runtime_info() << "\n";
}

void add_invalid_utf8_option(CLI::App* cmd, std::string& value) {
  cmd->add_option("--invalid-utf8", value,
                  "Texts that are not UTF-8: 'error' (default, names the line) or 'replace' "
                  "(each invalid sequence is read as U+FFFD)")
      ->check(CLI::IsMember({"error", "replace"}));
}

void check_output_path(const std::string& path) {
  const bool existed = access(path.c_str(), F_OK) == 0;
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0) throw IoError("cannot write " + path + ": " + std::strerror(errno));
  close(fd);
  if (!existed) unlink(path.c_str());
}

void add_precision_option(CLI::App* cmd, std::string& value) {
  cmd->add_option("--precision", value,
                  "What the linear layers compute in: fp32 (the model's own weights, int8 for an "
                  "int8 model) or bf16 (fp32 models: weights rounded to bfloat16 at load, half "
                  "the memory; docs/PERF.md)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
}

Model load_model(const std::string& path, const std::string& precision) {
  LoadOptions options;
  options.precision = parse_precision(precision);
  return loading_at(options.precision, [&] { return Model::load(path, options); });
}

void add_global_options(CLI::App* cmd, GlobalOptions& global) {
  cmd->add_option("--threads", global.threads,
                  "Threads for inference and tokenization (0: one per core)")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  cmd->add_flag("-v,--verbose", global.verbose,
                "Print timings, the chosen ISA and kernels to stderr");
}

}  // namespace maum::cli

int main(int argc, char** argv) {
  using namespace maum::cli;
  use_checked_stdout();
  CLI::App app{"maum: fast C++ inference for BERT-family text classifiers", "maum"};
  app.require_subcommand(0, 1);
  app.fallthrough();  // lets `maum classify --threads 2 ...` set the global options
  GlobalOptions global;
  bool version = false;
  app.add_flag("--version", version, "Print the version (with --verbose: CPU features and kernels)");
  app.add_option("--threads", global.threads, "Threads for inference (default: number of cores)")
      ->check(CLI::Range(0, 4096));
  app.add_flag("-v,--verbose", global.verbose, "Print timings, the chosen ISA and kernels to stderr");

  add_convert_command(app, global);
  add_classify_command(app, global);
  add_tokenize_command(app, global);
  add_eval_command(app, global);
  add_calibrate_command(app, global);
  add_bench_command(app, global);
  add_serve_command(app, global);
  add_flow_command(app, global);
  auto find_command = [&app](const std::string& name) -> CLI::App* {
    for (CLI::App* sub : app.get_subcommands({}))
      if (sub->get_name() == name) return sub;
    return nullptr;
  };
  std::string commands;
  for (CLI::App* sub : app.get_subcommands({})) {
    add_global_options(sub, global);
    commands += (commands.empty() ? "" : ", ") + sub->get_name();
  }

  // The command is the first argument that is neither an option nor the value of --threads.
  // Naming it here gives "unknown command" instead of CLI11's list of unexpected arguments.
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads") {
      ++i;
      continue;
    }
    if (arg.empty() || arg[0] == '-') continue;
    if (arg == "help") {  // `maum help [COMMAND]`
      CLI::App* sub = i + 1 < argc ? find_command(argv[i + 1]) : nullptr;
      if (i + 1 < argc && !sub) {
        std::cerr << "maum: error: unknown command \"" << argv[i + 1] << "\" (commands: "
                  << commands << ")\n";
        return 2;
      }
      std::cout << (sub ? sub->help() : app.help());
      return 0;
    }
    if (!find_command(arg)) {
      std::cerr << "maum: error: unknown command \"" << arg << "\" (commands: " << commands
                << "; see maum --help)\n";
      return 2;
    }
    break;
  }

  try {
    app.parse(argc, argv);
    if (version) {
      std::cout << "maum " << MAUM_VERSION << "\n";
      if (global.verbose) std::cout << maum::runtime_info() << "\n" << maum::runtime_choices();
      close_stdout();
      return 0;
    }
    if (app.get_subcommands().empty()) {
      // No command: the usage on stderr, exit status 2 as for every usage error.
      std::cerr << app.help();
      return 2;
    }
    close_stdout();  // every command's output, checked once it is complete
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors in the same one-line form as every other error, exit status 2.
    std::cerr << "maum: error: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const maum::Error& e) {
    std::cerr << "maum: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "maum: internal error: " << e.what() << "\n";
    return 3;
  }
  return 0;
}

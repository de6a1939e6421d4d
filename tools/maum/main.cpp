// maum: classify text with BERT-family models, convert Hugging Face checkpoints, tokenize,
// evaluate, calibrate and benchmark. Each subcommand lives in its own cmd_*.cpp.
#include <cstdio>
#include <iostream>

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

}  // namespace maum::cli

int main(int argc, char** argv) {
  using namespace maum::cli;
  use_checked_stdout();
  CLI::App app{"maum: fast C++ inference for BERT-family text classifiers"};
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

  try {
    app.parse(argc, argv);
    if (version) {
      std::cout << "maum " << MAUM_VERSION << "\n";
      if (global.verbose) std::cout << maum::runtime_info() << "\n";
      close_stdout();
      return 0;
    }
    if (app.get_subcommands().empty()) {
      std::cout << app.help();
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

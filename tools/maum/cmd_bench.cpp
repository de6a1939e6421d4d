// Placeholder until the bench command lands.
#include "maum/error.h"
#include "tools/maum/commands.h"

namespace maum::cli {

void add_bench_command(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("bench", "(not implemented yet)");
  cmd->allow_extras();
  cmd->callback([]() { throw maum::InvalidArgument("'bench' is not implemented yet"); });
}

}  // namespace maum::cli

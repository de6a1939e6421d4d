// Placeholder until the eval command lands.
#include "maum/error.h"
#include "tools/maum/commands.h"

namespace maum::cli {

void add_eval_command(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("eval", "(not implemented yet)");
  cmd->allow_extras();
  cmd->callback([]() { throw maum::InvalidArgument("'eval' is not implemented yet"); });
}

}  // namespace maum::cli

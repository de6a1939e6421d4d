// Placeholder until the calibrate command lands.
#include "maum/error.h"
#include "tools/maum/commands.h"

namespace maum::cli {

void add_calibrate_command(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("calibrate", "(not implemented yet)");
  cmd->allow_extras();
  cmd->callback([]() { throw maum::InvalidArgument("'calibrate' is not implemented yet"); });
}

}  // namespace maum::cli

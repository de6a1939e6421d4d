// Placeholder until the convert command lands.
#include "maum/error.h"
#include "tools/maum/commands.h"

namespace maum::cli {

void add_convert_command(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("convert", "(not implemented yet)");
  cmd->allow_extras();
  cmd->callback([]() { throw maum::InvalidArgument("'convert' is not implemented yet"); });
}

}  // namespace maum::cli

// Placeholder until the classify command lands.
#include "maum/error.h"
#include "tools/maum/commands.h"

namespace maum::cli {

void add_classify_command(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("classify", "(not implemented yet)");
  cmd->allow_extras();
  cmd->callback([]() { throw maum::InvalidArgument("'classify' is not implemented yet"); });
}

}  // namespace maum::cli

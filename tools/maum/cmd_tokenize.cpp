// Placeholder until the tokenize command lands.
#include "maum/error.h"
#include "tools/maum/commands.h"

namespace maum::cli {

void add_tokenize_command(CLI::App& app, GlobalOptions& global) {
  auto* cmd = app.add_subcommand("tokenize", "(not implemented yet)");
  cmd->allow_extras();
  cmd->callback([]() { throw maum::InvalidArgument("'tokenize' is not implemented yet"); });
}

}  // namespace maum::cli

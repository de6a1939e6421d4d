// maum serve --model M [--model NAME=PATH ...]: the HTTP service (server/, docs/SERVER.md). This
// file only reads the options, handles SIGTERM/SIGINT and runs maum::Server.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>

#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "maum/error.h"
#include "maum/server.h"
#include "tools/maum/commands.h"

namespace maum::cli {
namespace {

int stop_pipe[2] = {-1, -1};

struct ServeArgs {
  std::vector<std::string> models;
  std::string precision = "fp32";
  ServerOptions options;
};

// NAME=PATH, or PATH (named after the file, without its extension).
ServedModel parse_model(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq != std::string::npos && eq > 0 && arg.find('/') > eq)
    return {arg.substr(0, eq), arg.substr(eq + 1)};
  return {std::filesystem::path(arg).stem().string(), arg};
}

void run_serve(const GlobalOptions& global, ServeArgs args) {
  apply_global_options(global);
  for (const auto& m : args.models) args.options.models.push_back(parse_model(m));
  args.options.precision = parse_precision(args.precision);
  // SIGTERM/SIGINT (whichever thread the kernel picks) write their number to
  // a pipe; one thread reads it and stops the server: no new connections, requests in flight are
  // answered, then exit 0.
  if (pipe(stop_pipe) != 0) throw IoError("cannot create a pipe for signal handling");
  struct sigaction action {};
  action.sa_handler = [](int sig) {
    const char c = static_cast<char>(sig);
    [[maybe_unused]] ssize_t n = write(stop_pipe[1], &c, 1);
  };
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Each connection is a file descriptor: thousands of clients need more than the usual soft
  // limit of 1024, and the hard limit is there to be raised to.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  const auto server = loading_at(args.options.precision,
                                [&] { return std::make_unique<Server>(args.options); });
  std::string names;
  for (const auto& m : args.options.models) names += (names.empty() ? "" : ", ") + m.name;
  const std::string url = "http://" + args.options.host + ":" + std::to_string(server->port());
  const std::string precision =
      args.options.precision == Precision::kFp32 ? "" : std::string(", precision ") + args.precision;
  std::cerr << "maum: serving " << names << " on " << url << " (" << args.options.max_batch
            << " texts per batch" << precision << ", SIGTERM or Ctrl-C stops)" << std::endl;
  std::cout << url << std::endl;  // the bound address, for scripts (with --port 0)

  std::thread([&server] {
    char sig = 0;
    while (read(stop_pipe[0], &sig, 1) < 0 && errno == EINTR) {
    }
    std::cerr << "maum: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
              << ": finishing requests in flight" << std::endl;
    server->stop();
  }).detach();
  server->run();
  std::cerr << "maum: stopped" << std::endl;
}

}  // namespace

void add_serve_command(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<ServeArgs>();
  ServerOptions& o = args->options;
  auto* cmd = app.add_subcommand("serve", "Serve the models over HTTP (docs/SERVER.md)");
  cmd->add_option("--model", args->models,
                  "Converted model file, or NAME=PATH; repeat for several (the first is the default)")
      ->required();
  add_precision_option(cmd, args->precision);
  cmd->add_option("--host", o.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", o.port, "Port (0: any free port; the URL is printed on stdout)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--max-batch", o.max_batch, "Texts per forward pass")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--max-wait-ms", o.max_wait_ms,
                  "How long a busy server waits to fill a batch (an idle one never waits)")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  cmd->add_option("--queue", o.queue, "Texts waiting for the model; beyond, 503 + Retry-After")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  cmd->add_option("--cache", o.cache, "LRU cache entries (0: off)")
      ->check(CLI::Range(0, 1 << 26))
      ->capture_default_str();
  cmd->add_option("--max-body", o.max_body, "Largest request body (e.g. 1MiB, 64KiB); larger: 413")
      ->transform(CLI::AsSizeValue(false))
      ->check(CLI::Range(size_t{1}, size_t{1} << 30))
      ->default_str("1MiB");
  cmd->add_option("--cors", o.cors, "Send Access-Control-Allow-Origin: ORIGIN (e.g. '*')");
  cmd->add_option("--io-threads", o.io_threads,
                  "Most connection threads (parsing and waiting; inference uses --threads)")
      ->check(CLI::Range(1, 16384))
      ->capture_default_str();
  cmd->add_option("--timeout", o.read_timeout_s,
                  "Seconds a client may stall mid-request or sit idle on a keep-alive connection")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str()
      ->each([&o](const std::string&) { o.keep_alive_timeout_s = o.read_timeout_s; });
  cmd->add_option("--max-texts", o.max_texts, "Texts per /v1/classify request")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--db", o.db,
                  "Emotion history database (SQLite, created if absent): enables /v1/conversations "
                  "and /v1/users (docs/HISTORY.md)");
  cmd->add_flag("--store-text", o.store_text,
                "With --db: store turn texts (default: only a salted SHA-256 of each)");
  cmd->add_option_function<std::string>(
         "--db-sync",
         [&o](const std::string& v) { o.db_sync_every_commit = v == "full"; },
         "With --db: 'full' (default) syncs every commit to disk (survives power loss); 'normal' "
         "syncs at checkpoints only (survives a process crash, not a power loss; faster)")
      ->check(CLI::IsMember({"full", "normal"}));
  cmd->callback([&global, args]() { run_serve(global, *args); });
}

}  // namespace maum::cli

// The maum HTTP service (`maum serve`, docs/SERVER.md): the seeds' emotion endpoints
// (/analyze_emotion, /predict), batch classification (/v1/classify), health, models, Prometheus
// metrics and a small web page, for one or more converted models. Concurrent requests are gathered
// into batches on one inference thread; an LRU cache answers repeated texts without the model.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "maum/model.h"

namespace maum {

struct ServedModel {
  std::string name;  // as requests name it ("model": NAME); the first model is the default
  std::string path;  // converted model file
};

struct ServerOptions {
  std::vector<ServedModel> models;
  Precision precision = Precision::kFp32;  // every model's (bf16: fp32 models only)
  std::string host = "127.0.0.1";
  int port = 8515;                    // 0: any free port (see Server::port())
  size_t max_batch = 32;              // texts per forward pass
  double max_wait_ms = 2;             // how long a busy server waits to fill a batch
  size_t queue = 1024;                // texts waiting for the model; beyond: 503 + Retry-After
  size_t cache = 10000;               // LRU entries (0: no cache)
  size_t max_body = 1 << 20;          // bytes; larger bodies: 413
  std::string cors;                   // Access-Control-Allow-Origin value (empty: no CORS headers)
  size_t io_threads = 4096;           // connection threads (cheap, mostly waiting on sockets)
  int read_timeout_s = 5;             // a client that stalls mid-request is dropped after this
  int keep_alive_timeout_s = 5;       // an idle keep-alive connection is closed after this
  size_t max_texts = 256;             // texts per /v1/classify request
  // The emotion history (docs/HISTORY.md): with a database file, the /v1/conversations and
  // /v1/users routes store every turn there (the default model classifies them).
  std::string db;
  bool store_text = false;            // keep turn texts in the database (default: a hash)
  bool db_sync_every_commit = true;   // false: --db-sync normal (see HistoryOptions)
};

class Server {
 public:
  // Loads every model (throws maum::Error naming the file) and binds the socket (throws IoError).
  explicit Server(const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const;  // the bound port
  // Serves until stop(); returns after in-flight requests are answered.
  void run();
  // Stops accepting connections; run() returns once requests in flight are answered. Safe to call
  // from another thread (not from a signal handler).
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace maum

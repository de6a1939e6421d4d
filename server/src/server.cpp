#include "maum/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <optional>
#include <utility>

#include "batcher.h"
#include "io_pool.h"
#include "lru_cache.h"
#include "maum/error.h"
#include "metrics.h"
#include "router.h"
#include "routes.h"
#include "service.h"
#include "web_page.h"

namespace maum {

using server::Metrics;
using server::Router;
using server::Service;

struct Server::Impl {
  explicit Impl(const ServerOptions& o)
      : options(o), service(o, metrics), router(http, metrics, o.cors) {
    if (!o.db.empty()) {
      HistoryOptions h;
      h.store_text = o.store_text;
      h.sync_every_commit = o.db_sync_every_commit;
      history.emplace(History::open(o.db, h));
    }
  }

  // Every route set, in one place: a new module adds its add_*_routes(router, ...) call here.
  void register_routes() {
    server::add_service_routes(router, service, metrics, [this] { return ready.load(); });
    server::add_emotion_routes(router, service, options.max_texts);
    if (history) server::add_history_routes(router, service, *history);
    router.install();
  }

  ServerOptions options;
  Metrics metrics;
  Service service;
  std::optional<History> history;  // --db
  httplib::Server http;
  Router router;
  int socket = -1;
  int port = 0;
  std::atomic<bool> ready{false};
};

Server::Server(const ServerOptions& options) : impl_(std::make_unique<Impl>(options)) {
  Impl& s = *impl_;
  s.register_routes();
  httplib::Server& http = s.http;
  const size_t io_threads = options.io_threads;
  http.new_task_queue = [io_threads] { return new server::IoPool(io_threads); };
  http.set_payload_max_length(options.max_body);
  http.set_read_timeout(options.read_timeout_s, 0);
  http.set_write_timeout(options.read_timeout_s, 0);
  http.set_keep_alive_timeout(options.keep_alive_timeout_s);
  http.set_keep_alive_max_count(100000);
  http.set_tcp_nodelay(true);
  const int defer_s = options.keep_alive_timeout_s;
  http.set_socket_options([&s, defer_s](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    // A new connection that sends nothing waits in the kernel, not on a connection thread, for
    // about as long as an idle keep-alive connection may (Linux: TCP_DEFER_ACCEPT); then it is
    // accepted and timed out like one. Live requests are accepted at once.
    setsockopt(sock, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof defer_s);
    s.socket = sock;
  });
  if (options.port == 0) {
    s.port = http.bind_to_any_port(options.host);
  } else if (http.bind_to_port(options.host, options.port)) {
    s.port = options.port;
  } else {
    s.port = -1;
  }
  if (s.port <= 0)
    throw IoError("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                  " (address in use, or not an address of this machine)");
  // cpp-httplib listens with a backlog of 5; many clients connecting at once need a longer one
  // (listen() again on a listening socket only changes its backlog).
  if (s.socket >= 0) ::listen(s.socket, 4096);
  s.ready = true;
}

Server::~Server() {
  stop();
  impl_->service.shutdown();
}

int Server::port() const { return impl_->port; }

void Server::run() {
  impl_->http.listen_after_bind();  // returns after stop(), once every connection thread is done
  impl_->ready = false;
  impl_->service.shutdown();  // runs what is still queued
}

void Server::stop() {
  impl_->ready = false;
  impl_->http.stop();
}

namespace server {

void add_service_routes(Router& router, Service& service, Metrics& metrics,
                        std::function<bool()> ready) {
  router.add("GET", "/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(kWebPage, "text/html; charset=utf-8");
  });
  router.add("GET", "/healthz", [](const httplib::Request&, httplib::Response& res) {
    send_json(res, 200, {{"status", "ok"}});
  });
  router.add("GET", "/readyz", [ready](const httplib::Request&, httplib::Response& res) {
    if (ready()) send_json(res, 200, {{"status", "ready"}});
    else send_error(res, 503, "not_ready", "the server is starting or stopping");
  });
  Service* s = &service;
  Metrics* m = &metrics;
  router.add("GET", "/metrics", [s, m](const httplib::Request&, httplib::Response& res) {
    res.set_content(m->render(s->batcher().depth(), s->cache() ? s->cache()->size() : 0),
                    "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace server
}  // namespace maum

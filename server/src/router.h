// Route registration for the server: each module adds (method, path pattern, handler) triples in
// one place (Server::Impl's route list); the router answers wrong methods with 405 and Allow,
// unknown paths with 404, CORS preflight requests, and turns every error into
// {"error": {"code", "message"}}. Handlers throw HttpError (or BadText, Overloaded, ShuttingDown)
// instead of writing error bodies themselves.
#pragma once
#include <chrono>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "httplib.h"

namespace maum::server {

class Metrics;

struct HttpError {
  int status;
  std::string code, message;
};

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// Writes `body` (compact UTF-8 JSON) with the status.
void send_json(httplib::Response& res, int status, const nlohmann::ordered_json& body);
void send_error(httplib::Response& res, int status, const std::string& code,
                const std::string& message);

// The request body as a JSON object: 400 for invalid UTF-8, malformed JSON or another JSON type.
nlohmann::json parse_body(const httplib::Request& req);

class Router {
 public:
  Router(httplib::Server& http, Metrics& metrics, std::string cors_origin);
  // `pattern`: a path, or a cpp-httplib regex for paths with parameters (req.matches).
  void add(const std::string& method, const std::string& pattern, Handler handler);
  // Registers everything added with the HTTP server (call once, after the last add()).
  void install();

 private:
  struct Route {
    std::string pattern;
    bool literal;  // no regex syntax: compared as a string
    std::regex regex;
    std::map<std::string, Handler> by_method;
  };
  void dispatch(const Route& route, const httplib::Request& req, httplib::Response& res) const;
  std::string route_label(const std::string& path) const;
  void add_cors(httplib::Response& res) const;

  httplib::Server& http_;
  Metrics& metrics_;
  std::string cors_;
  std::vector<Route> routes_;
};

}  // namespace maum::server

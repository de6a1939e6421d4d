#include "router.h"

#include <exception>

#include "batcher.h"
#include "maum/error.h"
#include "maum/tokenizer.h"
#include "metrics.h"
#include "service.h"

namespace maum::server {
namespace {

// When the request being answered on this connection's thread started (cpp-httplib answers one
// request at a time per thread): the logger turns it into the latency metric.
thread_local std::chrono::steady_clock::time_point request_started;
thread_local bool request_timed = false;

const char* reason_code(int status) {
  switch (status) {
    case 400: return "bad_request";
    case 404: return "not_found";
    case 405: return "method_not_allowed";
    case 408: return "timeout";
    case 413: return "payload_too_large";
    case 414: return "uri_too_long";
    case 416: return "range_not_satisfiable";
    case 503: return "unavailable";
    default: return status >= 500 ? "internal" : "bad_request";
  }
}

}  // namespace

void send_json(httplib::Response& res, int status, const nlohmann::ordered_json& body) {
  res.status = status;
  res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, int status, const std::string& code,
                const std::string& message) {
  send_json(res, status, {{"error", {{"code", code}, {"message", message}}}});
}

nlohmann::json parse_body(const httplib::Request& req) {
  if (maum::replace_invalid_utf8(req.body) != req.body)
    throw HttpError{400, "invalid_utf8", "the request body is not valid UTF-8"};
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(req.body);
  } catch (const nlohmann::json::exception& e) {
    throw HttpError{400, "malformed_json", std::string("malformed JSON: ") + e.what()};
  }
  if (!body.is_object())
    throw HttpError{400, "wrong_type", "the request body must be a JSON object"};
  return body;
}

Router::Router(httplib::Server& http, Metrics& metrics, std::string cors_origin)
    : http_(http), metrics_(metrics), cors_(std::move(cors_origin)) {}

void Router::add(const std::string& method, const std::string& pattern, Handler handler) {
  for (auto& r : routes_)
    if (r.pattern == pattern) {
      r.by_method[method] = std::move(handler);
      return;
    }
  const bool literal = pattern.find_first_of("()[]{}.*+?^$|\\") == std::string::npos;
  routes_.push_back({pattern, literal, std::regex(pattern), {{method, std::move(handler)}}});
}

void Router::add_cors(httplib::Response& res) const {
  if (cors_.empty() || res.has_header("Access-Control-Allow-Origin")) return;
  res.set_header("Access-Control-Allow-Origin", cors_);
  if (cors_ != "*") res.set_header("Vary", "Origin");
}

std::string Router::route_label(const std::string& path) const {
  for (const auto& r : routes_)
    if (r.literal ? r.pattern == path : std::regex_match(path, r.regex)) return r.pattern;
  return "unmatched";  // one label for every unknown path: no unbounded label set
}

void Router::dispatch(const Route& route, const httplib::Request& req,
                      httplib::Response& res) const {
  std::string method = req.method == "HEAD" ? "GET" : req.method;
  auto it = route.by_method.find(method);
  if (method == "OPTIONS" && it == route.by_method.end()) {
    // CORS preflight (and plain OPTIONS): what this path allows.
    std::string allow;
    for (const auto& [m, h] : route.by_method) allow += (allow.empty() ? "" : ", ") + m;
    allow += ", OPTIONS";
    res.status = 204;
    res.set_header("Allow", allow);
    if (!cors_.empty()) {
      res.set_header("Access-Control-Allow-Methods", allow);
      res.set_header("Access-Control-Allow-Headers", "Content-Type");
      res.set_header("Access-Control-Max-Age", "86400");
    }
    return;
  }
  if (it == route.by_method.end()) {
    std::string allow;
    for (const auto& [m, h] : route.by_method) allow += (allow.empty() ? "" : ", ") + m;
    res.set_header("Allow", allow);
    send_error(res, 405, "method_not_allowed",
               req.method + " is not allowed on " + route.pattern + " (allowed: " + allow + ")");
    return;
  }
  try {
    it->second(req, res);
  } catch (const HttpError& e) {
    send_error(res, e.status, e.code, e.message);
  } catch (const BadText& e) {
    send_error(res, 400, "invalid_text", e.message);
  } catch (const Overloaded&) {
    res.set_header("Retry-After", "1");
    send_error(res, 503, "overloaded", "the server is at capacity; retry after 1 second");
  } catch (const ShuttingDown&) {
    res.set_header("Retry-After", "1");
    send_error(res, 503, "shutting_down", "the server is shutting down");
  } catch (const maum::InvalidArgument& e) {
    send_error(res, 400, "bad_request", e.what());
  } catch (const std::exception& e) {
    send_error(res, 500, "internal", e.what());
  }
}

void Router::install() {
  static const char* kMethods[] = {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
  for (const auto& route : routes_) {
    const Route* r = &route;
    Handler h = [this, r](const httplib::Request& req, httplib::Response& res) {
      dispatch(*r, req, res);
    };
    for (const char* m : kMethods) {
      const std::string method = m;
      if (method == "GET") http_.Get(route.pattern, h);
      else if (method == "POST") http_.Post(route.pattern, h);
      else if (method == "PUT") http_.Put(route.pattern, h);
      else if (method == "DELETE") http_.Delete(route.pattern, h);
      else if (method == "PATCH") http_.Patch(route.pattern, h);
      else http_.Options(route.pattern, h);
    }
  }
  http_.set_pre_routing_handler([](const httplib::Request&, httplib::Response&) {
    request_started = std::chrono::steady_clock::now();
    request_timed = true;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Every response without a body of its own (unknown path, body over the limit, malformed HTTP)
  // gets the JSON error shape; every response gets the CORS header.
  http_.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) {
      std::string message = res.status == 404 ? "no route " + req.path
                            : res.status == 413 ? "the request body is larger than --max-body"
                                                : "HTTP " + std::to_string(res.status) + " (" + reason_code(res.status) + ")";
      send_error(res, res.status, reason_code(res.status), message);
    }
    add_cors(res);
    return httplib::Server::HandlerResponse::Handled;
  }));
  // The request is counted here, before its response is written, rather than in the logger, which
  // runs after the write: a client that has read its answer must find it in /metrics.
  http_.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    add_cors(res);
    double seconds = 0;
    if (request_timed)
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - request_started)
                    .count();
    request_timed = false;
    metrics_.request(route_label(req.path), res.status, seconds);
  });
}

}  // namespace maum::server

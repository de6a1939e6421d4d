// The emotion-history HTTP routes, independent of any HTTP server: a server hands each request's
// method, path, query and body to HistoryRoutes::handle and sends back what it returns.
//   POST   /v1/conversations/{id}/turns  {"text", "speaker"?, "user_id"?, "ts"?, "model"?}
//   GET    /v1/conversations/{id}
//   GET    /v1/conversations/{id}/timeline.svg
//   GET    /v1/users/{id}/profile?since=&until=&bucket=day|week
//   DELETE /v1/conversations/{id}
//   DELETE /v1/users/{id}
// Errors are {"error": {"code", "message"}} with 400 (bad id, JSON, field, text), 404 (unknown
// conversation or user, unknown route under the prefixes), 405 (wrong method, with Allow), 503
// (database full, read-only or busy: the turn is not acknowledged). docs/HISTORY.md.
#pragma once
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "maum/analysis.h"
#include "maum/error.h"
#include "maum/history.h"

namespace maum {

struct HttpRequest {
  std::string method;  // "GET", "POST", "DELETE", ...
  std::string path;    // decoded path without the query, e.g. "/v1/conversations/c1/turns"
  std::map<std::string, std::string> query;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;  // extra headers (e.g. Allow)
};

// A turn's analysis and the name of the model that made it (stored with the turn).
struct ClassifiedTurn {
  Analysis analysis;
  std::string model;
};
// The request named a model that is not there: 400 unknown_model.
class UnknownModel : public InvalidArgument {
 public:
  using InvalidArgument::InvalidArgument;
};
// Runs the model named `model` ("": the default one) and its analysis policy on one text; may
// throw UnknownModel, or InvalidArgument (e.g. invalid UTF-8), which become 400s.
using TurnClassifier =
    std::function<ClassifiedTurn(const std::string& text, const std::string& model)>;
// The same without waiting: calls `done` exactly once, with the turn or the error, on any thread
// (a server's inference thread: the turn then goes to History::append_async from there, so the
// turns of one batch share a commit and the request's thread waits once). It may also throw at
// once; errors other than maum::Error (a server's own) propagate out of handle().
using TurnClassifierAsync = std::function<void(
    const std::string& text, const std::string& model,
    std::function<void(const ClassifiedTurn* turn, std::exception_ptr error)> done)>;

class HistoryRoutes {
 public:
  // `history` must outlive this object. `valence`: the label -> valence map used in summaries.
  HistoryRoutes(History& history, TurnClassifierAsync classify, std::map<std::string, double> valence);
  HistoryRoutes(History& history, TurnClassifier classify, std::map<std::string, double> valence);
  // True for paths this handler owns: /v1/conversations/... and /v1/users/...
  static bool owns(const std::string& path);
  HttpResponse handle(const HttpRequest& request) const;

 private:
  History& history_;
  TurnClassifierAsync classify_;
  std::map<std::string, double> valence_;
};

// {"error": {"code": code, "message": message}} as a response with `status`.
HttpResponse error_response(int status, const std::string& code, const std::string& message);

}  // namespace maum

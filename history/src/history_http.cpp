// The emotion-history routes over any HTTP server (maum/history_http.h, docs/HISTORY.md).
#include "maum/history_http.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "maum/error.h"
#include "maum/flow.h"

namespace maum {
namespace {

using OrderedJson = nlohmann::ordered_json;
const std::string kConversations = "/v1/conversations/";
const std::string kUsers = "/v1/users/";

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

HttpResponse json_response(const std::string& body) {
  HttpResponse r;
  r.body = body;
  return r;
}

HttpResponse method_not_allowed(const std::string& allow) {
  HttpResponse r = error_response(405, "method_not_allowed", "allowed: " + allow);
  r.headers["Allow"] = allow;
  return r;
}

HttpResponse storage_error(const StorageError& e) {
  using Kind = StorageError::Kind;
  switch (e.kind()) {
    case Kind::Full: return error_response(503, "storage_full", e.what());
    case Kind::ReadOnly: return error_response(503, "storage_read_only", e.what());
    case Kind::Busy: {
      HttpResponse r = error_response(503, "storage_busy", e.what());
      r.headers["Retry-After"] = "1";
      return r;
    }
    default: return error_response(500, "storage_error", e.what());
  }
}

std::optional<int64_t> query_time(const HttpRequest& req, const std::string& name) {
  auto it = req.query.find(name);
  if (it == req.query.end() || it->second.empty()) return std::nullopt;
  try {
    return parse_timestamp(it->second);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument("\"" + name + "\": " + e.what());
  }
}

// Milliseconds from a JSON "ts": RFC 3339 text or Unix seconds (a number).
int64_t json_time(const nlohmann::json& ts) {
  if (ts.is_string()) return parse_timestamp(ts.get<std::string>());
  if (ts.is_number()) {
    const double seconds = ts.get<double>();
    if (!std::isfinite(seconds) || seconds < 0 || seconds > 253402300799.0)  // 9999-12-31
      throw InvalidArgument("\"ts\" in seconds must be between 0 and 253402300799");
    return static_cast<int64_t>(std::llround(seconds * 1000));
  }
  throw InvalidArgument("\"ts\" must be RFC 3339 text or Unix seconds");
}

std::string string_field(const nlohmann::json& body, const char* name) {
  if (!body.contains(name) || body[name].is_null()) return "";
  if (!body[name].is_string()) throw InvalidArgument(std::string("\"") + name + "\" must be a string");
  return body[name].get<std::string>();
}

}  // namespace

HttpResponse error_response(int status, const std::string& code, const std::string& message) {
  HttpResponse r;
  r.status = status;
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  // replace: a message quoting invalid bytes must still be valid JSON.
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HistoryRoutes::HistoryRoutes(History& history, TurnClassifier classify, std::string model,
                             std::map<std::string, double> valence)
    : history_(history), classify_(std::move(classify)), model_(std::move(model)),
      valence_(std::move(valence)) {}

bool HistoryRoutes::owns(const std::string& path) {
  return starts_with(path, kConversations) || starts_with(path, kUsers);
}

HttpResponse HistoryRoutes::handle(const HttpRequest& req) const {
  try {
    const bool conversations = starts_with(req.path, kConversations);
    if (!conversations && !starts_with(req.path, kUsers))
      return error_response(404, "not_found", "no such route");
    const std::string rest = req.path.substr((conversations ? kConversations : kUsers).size());
    const size_t slash = rest.find('/');
    const std::string id = rest.substr(0, slash);
    const std::string sub = slash == std::string::npos ? "" : rest.substr(slash);
    if (sub != "" && !(conversations && (sub == "/turns" || sub == "/timeline.svg")) &&
        !(!conversations && sub == "/profile"))
      return error_response(404, "not_found", "no such route");
    if (!valid_id(id)) {
      check_id(id, conversations ? "conversation id" : "user id");  // throws, with the rule
    }

    if (conversations && sub == "/turns") {
      if (req.method != "POST") return method_not_allowed("POST");
      const nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object())
        return error_response(400, "invalid_json", "the body must be a JSON object {\"text\", "
                                                   "\"speaker\"?, \"user_id\"?, \"ts\"?}");
      for (auto it = body.begin(); it != body.end(); ++it)
        if (it.key() != "text" && it.key() != "speaker" && it.key() != "user_id" && it.key() != "ts")
          return error_response(400, "invalid_field",
                                "unknown field (allowed: text, speaker, user_id, ts)");
      if (!body.contains("text") || !body["text"].is_string())
        return error_response(400, "invalid_field", "\"text\" (a string) is required");
      const std::string text = body["text"].get<std::string>();
      const std::string speaker = string_field(body, "speaker");
      const std::string user = string_field(body, "user_id");
      if (!user.empty()) check_id(user, "user id");
      check_speaker(speaker);
      const int64_t ts = body.contains("ts") && !body["ts"].is_null() ? json_time(body["ts"]) : now_ms();
      const Analysis analysis = classify_(text);
      const TurnRecord stored =
          history_.append(make_turn(analysis, id, user, speaker, ts, model_, text));
      const auto turns = history_.conversation(id);
      return json_response("{\"turn\":" + turn_to_json(stored) + ",\"analysis\":" +
                           analysis.to_json() + ",\"summary\":" +
                           summarize_conversation(turns, valence_).to_json() + "}");
    }
    if (conversations && sub == "/timeline.svg") {
      if (req.method != "GET") return method_not_allowed("GET");
      const auto turns = history_.conversation(id);
      if (turns.empty()) return error_response(404, "unknown_conversation", "no turns stored for " + id);
      HttpResponse r;
      r.content_type = "image/svg+xml";
      r.body = timeline_svg(turns, "conversation " + id);
      return r;
    }
    if (conversations) {
      if (req.method == "GET") {
        const auto turns = history_.conversation(id);
        if (turns.empty()) return error_response(404, "unknown_conversation", "no turns stored for " + id);
        std::string body = "{\"conversation_id\":\"" + id + "\",\"turns\":[";
        for (size_t i = 0; i < turns.size(); ++i) body += (i ? "," : "") + turn_to_json(turns[i]);
        return json_response(body + "],\"summary\":" +
                             summarize_conversation(turns, valence_).to_json() + "}");
      }
      if (req.method == "DELETE") {
        const size_t erased = history_.erase_conversation(id);
        if (!erased) return error_response(404, "unknown_conversation", "no turns stored for " + id);
        return json_response("{\"conversation_id\":\"" + id + "\",\"erased_turns\":" +
                             std::to_string(erased) + "}");
      }
      return method_not_allowed("GET, DELETE");
    }
    if (sub == "/profile") {
      if (req.method != "GET") return method_not_allowed("GET");
      auto bucket_it = req.query.find("bucket");
      const Bucket bucket = bucket_it == req.query.end() || bucket_it->second.empty()
                                ? Bucket::Day
                                : parse_bucket(bucket_it->second);
      const auto since = query_time(req, "since"), until = query_time(req, "until");
      if (!history_.has_user(id)) return error_response(404, "unknown_user", "no turns stored for " + id);
      return json_response(
          user_profile(id, history_.user_turns(id, since, until), bucket, since, until, valence_)
              .to_json());
    }
    if (req.method != "DELETE") return method_not_allowed("DELETE");
    const size_t erased = history_.erase_user(id);
    if (!erased) return error_response(404, "unknown_user", "no turns stored for " + id);
    return json_response("{\"user_id\":\"" + id + "\",\"erased_turns\":" + std::to_string(erased) + "}");
  } catch (const StorageError& e) {
    return storage_error(e);
  } catch (const InvalidArgument& e) {
    return error_response(400, "invalid_request", e.what());
  } catch (const Error& e) {
    return error_response(500, "internal_error", e.what());
  }
}

}  // namespace maum

// The emotion-history routes over any HTTP server (maum/history_http.h, docs/HISTORY.md).
#include "maum/history_http.h"

#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>

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

}  // namespace

HttpResponse error_response(int status, const std::string& code, const std::string& message) {
  HttpResponse r;
  r.status = status;
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  // replace: a message quoting invalid bytes must still be valid JSON.
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HistoryRoutes::HistoryRoutes(History& history, TurnClassifierAsync classify,
                             std::map<std::string, double> valence)
    : history_(history), classify_(std::move(classify)), valence_(std::move(valence)) {}

HistoryRoutes::HistoryRoutes(History& history, TurnClassifier classify,
                             std::map<std::string, double> valence)
    : HistoryRoutes(
          history,
          [classify = std::move(classify)](const std::string& text, const std::string& model,
                                           const std::function<void(const ClassifiedTurn*,
                                                                    std::exception_ptr)>& done) {
            const ClassifiedTurn turn = classify(text, model);
            done(&turn, nullptr);
          },
          std::move(valence)) {}

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
      TurnInput in;
      try {
        in = parse_turn_input(req.body, /*with_conversation_id=*/false);
      } catch (const FormatError& e) {
        return error_response(400, "invalid_json", e.what());
      }
      // Classified, then stored from the classifier's callback (History::append_async: the turns
      // finished together share a commit); this thread waits once, for the commit. The running
      // summary comes from the conversation's totals: nothing is read back.
      struct Outcome {
        std::mutex mutex;
        std::condition_variable cv;
        bool done = false;
        std::exception_ptr error;
        Analysis analysis;
        TurnRecord stored;
        ConversationTotals totals;
        void finish(std::exception_ptr e) {
          std::lock_guard<std::mutex> lock(mutex);
          error = e;
          done = true;
          cv.notify_all();
        }
      };
      auto outcome = std::make_shared<Outcome>();
      auto input = std::make_shared<TurnInput>(std::move(in));
      History* history = &history_;
      classify_(input->text, input->model,
                [outcome, input, history, id](const ClassifiedTurn* c, std::exception_ptr error) {
                  if (error) return outcome->finish(error);
                  try {
                    {
                      std::lock_guard<std::mutex> lock(outcome->mutex);
                      outcome->analysis = c->analysis;
                    }
                    history->append_async(
                        make_turn(c->analysis, id, input->user_id, input->speaker, input->ts_ms,
                                  c->model, input->text),
                        [outcome](const TurnRecord* stored, const ConversationTotals* totals,
                                  std::exception_ptr e) {
                          if (!e) {
                            try {
                              std::lock_guard<std::mutex> lock(outcome->mutex);
                              outcome->stored = *stored;
                              outcome->totals = *totals;
                            } catch (...) {
                              e = std::current_exception();
                            }
                          }
                          outcome->finish(e);
                        });
                  } catch (...) {
                    outcome->finish(std::current_exception());
                  }
                });
      std::unique_lock<std::mutex> lock(outcome->mutex);
      outcome->cv.wait(lock, [&] { return outcome->done; });
      if (outcome->error) std::rethrow_exception(outcome->error);
      return json_response("{\"turn\":" + turn_to_json(outcome->stored) + ",\"analysis\":" +
                           outcome->analysis.to_json() + ",\"summary\":" +
                           running_summary_json(outcome->totals, valence_) + "}");
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
  } catch (const UnknownModel& e) {
    return error_response(400, "unknown_model", e.what());
  } catch (const InvalidArgument& e) {
    return error_response(400, "invalid_request", e.what());
  } catch (const Error& e) {
    return error_response(500, "internal_error", e.what());
  }
}

}  // namespace maum

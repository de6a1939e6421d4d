// The emotion-history routes (history/, docs/HISTORY.md) mounted on the server with --db: each
// request goes to maum::HistoryRoutes; turns are classified by the model they name ("model", the
// default model when absent) through the same batcher, cache and policy as /analyze_emotion
// (Service::infer + Service::analyze).
#include "maum/history_http.h"
#include "routes.h"

namespace maum::server {

void add_history_routes(Router& router, Service& service, History& history) {
  Service* s = &service;
  // Summaries use one label -> valence map: every served model's policy map, the default
  // model's value first where two models give one label different values.
  std::map<std::string, double> valence;
  for (const auto& m : service.models())
    for (const auto& kv : m->pipeline.policy().valence) valence.emplace(kv.first, kv.second);
  auto routes = std::make_shared<HistoryRoutes>(
      history,
      // The turn is analysed on the inference thread when its batch is done and handed to the
      // history from there, so a batch's turns share one commit.
      TurnClassifierAsync(
          [s](const std::string& text, const std::string& name,
              std::function<void(const ClassifiedTurn*, std::exception_ptr)> done) {
            const LoadedModel* model = s->find(name);
            if (!model) throw UnknownModel(unknown_model_message(*s, name));
            s->infer_async(*model, text,
                           [s, model, done = std::move(done)](TextOutput out, std::exception_ptr error) {
                             if (error) return done(nullptr, error);
                             try {
                               const ClassifiedTurn turn{s->analyze(*model, out), model->name};
                               done(&turn, nullptr);
                             } catch (...) {
                               done(nullptr, std::current_exception());
                             }
                           });
          }),
      std::move(valence));
  const Handler handler = [routes](const httplib::Request& req, httplib::Response& res) {
    HttpRequest request{req.method, req.path, {}, req.body};
    for (const auto& kv : req.params) request.query[kv.first] = kv.second;
    const HttpResponse out = routes->handle(request);
    res.status = out.status;
    for (const auto& kv : out.headers) res.set_header(kv.first, kv.second);
    res.set_content(out.body, out.content_type == "application/json"
                                  ? "application/json; charset=utf-8"
                                  : out.content_type);
  };
  router.add("POST", R"(/v1/conversations/([^/]+)/turns)", handler);
  router.add("GET", R"(/v1/conversations/([^/]+)/timeline\.svg)", handler);
  router.add("GET", R"(/v1/conversations/([^/]+))", handler);
  router.add("DELETE", R"(/v1/conversations/([^/]+))", handler);
  router.add("GET", R"(/v1/users/([^/]+)/profile)", handler);
  router.add("DELETE", R"(/v1/users/([^/]+))", handler);
}

}  // namespace maum::server

// The emotion-history routes (history/, docs/HISTORY.md) mounted on the server with --db: each
// request goes to maum::HistoryRoutes; turns are classified by the default model through the
// same batcher, cache and policy as /analyze_emotion (Service::infer + Service::analyze).
#include "maum/history_http.h"
#include "routes.h"

namespace maum::server {

void add_history_routes(Router& router, Service& service, History& history) {
  const LoadedModel* model = service.find("");
  Service* s = &service;
  auto routes = std::make_shared<HistoryRoutes>(
      history,
      [s, model](const std::string& text) {
        const std::vector<TextOutput> out = s->infer(*model, {text});
        return s->analyze(*model, out.front());
      },
      model->name, model->pipeline.policy().valence);
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

// The server's route sets. Each adds its routes to the Router; Server::Impl lists them in one place.
#pragma once
#include <functional>
#include <string>

#include "maum/history.h"
#include "router.h"
#include "service.h"

namespace maum::server {

// POST /analyze_emotion, POST /predict, POST /v1/classify, GET /v1/models.
void add_emotion_routes(Router& router, Service& service, size_t max_texts);
// GET /, /healthz, /readyz, /metrics. `ready` is false once the server is stopping.
void add_service_routes(Router& router, Service& service, Metrics& metrics,
                        std::function<bool()> ready);

// The emotion-history routes (maum/history_http.h) over `history`, turns classified by the
// default model: /v1/conversations/{id}[/turns|/timeline.svg], /v1/users/{id}[/profile].
void add_history_routes(Router& router, Service& service, History& history);

}  // namespace maum::server

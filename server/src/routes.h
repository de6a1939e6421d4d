// The server's route sets. Each adds its routes to the Router; Server::Impl lists them in one place.
#pragma once
#include <functional>
#include <string>

#include "router.h"
#include "service.h"

namespace maum::server {

// POST /analyze_emotion, POST /predict, POST /v1/classify, GET /v1/models.
void add_emotion_routes(Router& router, Service& service, size_t max_texts);
// GET /, /healthz, /readyz, /metrics. `ready` is false once the server is stopping.
void add_service_routes(Router& router, Service& service, Metrics& metrics,
                        std::function<bool()> ready);

}  // namespace maum::server

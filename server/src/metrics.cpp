#include "metrics.h"

#include <cstdio>

namespace maum::server {
namespace {

const std::vector<double> kLatencyBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1,     2.5,   5,    10};
const std::vector<double> kBatchBounds = {1, 2, 4, 8, 16, 32, 64, 128, 256};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Label values are route patterns and model names: escape \, " and newlines as the format wants.
std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += name + "_bucket{" + labels + "le=\"" + (i < bounds_.size() ? number(bounds_[i]) : "+Inf") +
           "\"} " + std::to_string(cumulative) + "\n";
  }
  const std::string plain = labels.empty() ? "" : "{" + labels.substr(0, labels.size() - 1) + "}";
  out += name + "_sum" + plain + " " + number(sum_) + "\n";
  out += name + "_count" + plain + " " + std::to_string(count_) + "\n";
}

Metrics::Metrics() : batch_size_(kBatchBounds), batch_seconds_(kLatencyBounds) {}

void Metrics::request(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, status}];
  auto it = latency_.find(route);
  if (it == latency_.end()) it = latency_.emplace(route, Histogram(kLatencyBounds)).first;
  it->second.observe(seconds);
}

void Metrics::batch(size_t size, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  batch_size_.observe(static_cast<double>(size));
  batch_seconds_.observe(seconds);
}

void Metrics::model_loaded(const std::string& name, double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  load_seconds_.emplace_back(name, seconds);
}

std::string Metrics::render(size_t queue_depth, size_t cache_entries) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  out += "# HELP maum_http_requests_total HTTP requests answered, by route and status.\n";
  out += "# TYPE maum_http_requests_total counter\n";
  for (const auto& [key, count] : requests_)
    out += "maum_http_requests_total{route=\"" + escape(key.first) + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
  out += "# HELP maum_http_request_duration_seconds Time from routing to the response, by route.\n";
  out += "# TYPE maum_http_request_duration_seconds histogram\n";
  for (const auto& [route, h] : latency_)
    h.render(out, "maum_http_request_duration_seconds", "route=\"" + escape(route) + "\",");
  out += "# HELP maum_batch_size Texts per forward pass.\n# TYPE maum_batch_size histogram\n";
  batch_size_.render(out, "maum_batch_size", "");
  out += "# HELP maum_batch_duration_seconds Forward pass time per batch.\n";
  out += "# TYPE maum_batch_duration_seconds histogram\n";
  batch_seconds_.render(out, "maum_batch_duration_seconds", "");
  out += "# HELP maum_queue_depth Texts waiting for the model.\n# TYPE maum_queue_depth gauge\n";
  out += "maum_queue_depth " + std::to_string(queue_depth) + "\n";
  out += "# HELP maum_cache_hits_total Texts answered from the cache.\n";
  out += "# TYPE maum_cache_hits_total counter\nmaum_cache_hits_total " +
         std::to_string(cache_hits_.load()) + "\n";
  out += "# HELP maum_cache_misses_total Texts the model had to run.\n";
  out += "# TYPE maum_cache_misses_total counter\nmaum_cache_misses_total " +
         std::to_string(cache_misses_.load()) + "\n";
  out += "# HELP maum_cache_entries Texts in the cache.\n# TYPE maum_cache_entries gauge\n";
  out += "maum_cache_entries " + std::to_string(cache_entries) + "\n";
  out += "# HELP maum_model_load_seconds Time to load each model.\n";
  out += "# TYPE maum_model_load_seconds gauge\n";
  for (const auto& [name, seconds] : load_seconds_)
    out += "maum_model_load_seconds{model=\"" + escape(name) + "\"} " + number(seconds) + "\n";
  return out;
}

}  // namespace maum::server

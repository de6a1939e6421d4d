// Prometheus text-format metrics (exposition format 0.0.4): requests by route and status, request
// latency and batch size histograms, queue depth, cache hits and misses, model load time.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace maum::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  // name_bucket{labels,le="..."} lines, name_sum and name_count; `labels` is `a="b",` or empty.
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bound, not cumulative; last: +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void request(const std::string& route, int status, double seconds);
  void batch(size_t size, double seconds);
  void cache(bool hit) { (hit ? cache_hits_ : cache_misses_).fetch_add(1); }
  void model_loaded(const std::string& name, double seconds);
  std::string render(size_t queue_depth, size_t cache_entries) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_;  // by route
  Histogram batch_size_, batch_seconds_;
  std::vector<std::pair<std::string, double>> load_seconds_;
  std::atomic<uint64_t> cache_hits_{0}, cache_misses_{0};
};

}  // namespace maum::server

// One inference thread for every model: requests' token ids wait in a bounded queue and are run
// together, one padding-free batch of up to max_batch texts of the same model at a time (the engine
// groups by length). An idle server runs a lone request at once; a busy one (its last batch ended
// less than max_wait ago) waits up to max_wait for as many texts as its last batch had.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "maum/model.h"

namespace maum::server {

class Metrics;

// The queue cannot take the texts (503 + Retry-After).
struct Overloaded {};
// The server is stopping and takes no new work (503).
struct ShuttingDown {};

class Batcher {
 public:
  Batcher(size_t max_batch, double max_wait_ms, size_t queue_limit, Metrics& metrics);
  ~Batcher();

  // Logits for each id list, in order; blocks until computed. Throws Overloaded, ShuttingDown, or
  // what the model threw.
  std::vector<std::vector<float>> run(const Model& model, std::vector<std::vector<int32_t>> ids);

  size_t depth() const;  // texts waiting
  // Runs what is queued, then stops the thread. Later run() calls throw ShuttingDown.
  void stop();

 private:
  struct Group;
  struct Item {
    const Model* model;
    std::shared_ptr<Group> group;
    size_t index;
  };
  void loop();

  const size_t max_batch_;
  const std::chrono::microseconds max_wait_;
  const size_t queue_limit_;
  Metrics& metrics_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  size_t last_batch_ = 1;
  std::chrono::steady_clock::time_point last_end_{};
  std::thread thread_;
};

}  // namespace maum::server

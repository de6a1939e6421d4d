// Inference threads ("lanes") shared by every model: requests' token ids wait in a bounded queue
// and are run together, each lane taking one padding-free batch of up to max_batch texts of the
// same model at a time (the engine groups by length). Requests announce their texts before
// tokenizing them; a lane waits (at most max_wait) only for announced texts still on their way, so
// an idle server runs a lone request at once. With two lanes, one batch computes while the other's
// answers go out and the next batch forms; the engine's pool splits its threads between the
// batches computing at once (engine ComputeScope), and gives all of them to a batch alone.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
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
  // `lanes` batches may compute at once (at least 1).
  Batcher(size_t max_batch, double max_wait_ms, size_t queue_limit, Metrics& metrics,
          size_t lanes);
  ~Batcher();

  // `n` texts are on their way (announce(-n) takes back those that will not come).
  void announce(long n);
  // Logits for each id list, in order; blocks until computed. The texts were announced. Throws
  // Overloaded, ShuttingDown, or what the model threw.
  std::vector<std::vector<float>> run(const Model& model, std::vector<std::vector<int32_t>> ids);
  // The same without waiting: `done` gets the logits (or the model's error) on the inference
  // thread once every text has run (keep it short: the next batch waits for it). Throws Overloaded
  // or ShuttingDown at once, as run() does.
  using Done = std::function<void(std::vector<std::vector<float>> logits, std::exception_ptr error)>;
  void submit(const Model& model, std::vector<std::vector<int32_t>> ids, Done done);

  size_t depth() const;  // texts waiting
  // Runs what is queued, then stops the lanes. Later run() calls throw ShuttingDown.
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
  long on_way_ = 0;  // announced texts not yet queued
  std::vector<std::thread> lanes_;
};

}  // namespace maum::server

// The connection threads: cpp-httplib hands each accepted connection to a TaskQueue and keeps a
// thread on it for the whole keep-alive exchange. Its default pool has a fixed few threads, so a few
// idle clients can starve everyone; this pool starts threads as connections need them, up to a
// bound, and queues the rest (their keep-alive and read timeouts free threads within seconds).
// These threads only parse, tokenize and wait: inference runs on the batcher's thread with the
// --threads knob's threads.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "httplib.h"

namespace maum::server {

class IoPool : public httplib::TaskQueue {
 public:
  explicit IoPool(size_t max_threads);
  ~IoPool() override;
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;  // runs what is queued, then joins

 private:
  void work();
  const size_t max_threads_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  size_t idle_ = 0;
  bool shutdown_ = false;
};

}  // namespace maum::server

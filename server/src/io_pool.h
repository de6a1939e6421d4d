// The connection threads: cpp-httplib hands each accepted connection to a TaskQueue and keeps a
// thread on it for the whole keep-alive exchange. Its default pool has a fixed few threads, so a few
// idle clients can starve everyone; this pool starts threads as connections need them, up to a
// bound, and queues the rest (their keep-alive and read timeouts free threads within seconds).
// A thread left without work for idle_exit ends, so a burst of connections does not keep its
// threads for the life of the server. These threads only parse, tokenize and wait: inference runs
// on the batcher's thread with the --threads knob's threads.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "httplib.h"

namespace maum::server {

class IoPool : public httplib::TaskQueue {
 public:
  explicit IoPool(size_t max_threads,
                  std::chrono::milliseconds idle_exit = std::chrono::seconds(30));
  ~IoPool() override;
  // Never throws: where the system refuses another thread, the job waits for a running one (or,
  // with none running, runs on the calling thread).
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;  // runs what is queued, then joins

  size_t threads() const;  // threads running now

 private:
  void work();
  void join_finished();  // mutex_ held

  const size_t max_threads_;
  const std::chrono::milliseconds idle_exit_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::unordered_map<std::thread::id, std::thread> threads_;
  std::vector<std::thread::id> finished_;  // threads that ended and wait to be joined
  size_t idle_ = 0;
  bool shutdown_ = false;
};

}  // namespace maum::server

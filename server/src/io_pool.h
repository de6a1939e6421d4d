// The connection threads: cpp-httplib hands each accepted connection to a TaskQueue and keeps a
// thread on it for the whole keep-alive exchange. Its default pool has a fixed few threads, so a few
// idle clients can starve everyone; this pool starts threads as connections need them, up to a
// bound, and queues the rest (their keep-alive and read timeouts free threads within seconds).
// A thread that waits idle_exit without getting a job ends, so that a burst of connections does
// not keep its threads for the life of the server (under steady load spread over them, they stay).
// These threads only parse, tokenize and wait: inference runs on the batcher's lanes with the
// --threads knob's threads.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
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
  // Never throws: where the system refuses another thread, the job waits for a running one. With
  // none running it runs on the calling thread (cpp-httplib's accepting thread, which then accepts
  // nothing until that connection ends: a last resort when no thread can be made at all).
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;  // runs what is queued, then joins

 private:
  void work(uint64_t key);
  std::vector<std::thread> take_finished();  // mutex_ held; the caller joins them unlocked

  const size_t max_threads_;
  const std::chrono::milliseconds idle_exit_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> jobs_;
  std::unordered_map<uint64_t, std::thread> threads_;  // by a key of ours, known before it starts
  std::vector<uint64_t> finished_;                     // threads that ended, to be joined
  uint64_t next_key_ = 0;
  size_t idle_ = 0;
  bool shutdown_ = false;
};

}  // namespace maum::server

#include "io_pool.h"

#include <algorithm>
#include <utility>

namespace maum::server {

IoPool::IoPool(size_t max_threads, std::chrono::milliseconds idle_exit)
    : max_threads_(std::max<size_t>(1, max_threads)), idle_exit_(idle_exit) {}

IoPool::~IoPool() { shutdown(); }

void IoPool::enqueue(std::function<void()> fn) {
  std::function<void()> run_here;
  std::vector<std::thread> finished;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      finished = take_finished();
    } catch (...) {  // out of memory: they are joined by a later call, or by shutdown()
    }
    try {
      jobs_.push_back(std::move(fn));
    } catch (...) {  // out of memory: the connection is served here rather than dropped
      run_here = std::move(fn);
    }
    if (!run_here && idle_ < jobs_.size() && threads_.size() < max_threads_) {
      // The map entry first, so that a thread never runs without one that joins it.
      const uint64_t key = next_key_++;
      try {
        std::thread& slot = threads_[key];
        slot = std::thread([this, key] { work(key); });
      } catch (...) {
        // Out of threads (RLIMIT_NPROC, memory): a running thread takes the job when it is free.
        // With none running, nobody would, so it runs here.
        threads_.erase(key);
        if (threads_.empty()) {
          run_here = std::move(jobs_.back());
          jobs_.pop_back();
        }
      }
    }
  }
  for (auto& t : finished) t.join();
  if (run_here) {
    run_here();
    return;
  }
  ready_.notify_one();
}

void IoPool::shutdown() {
  std::unordered_map<uint64_t, std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shutdown_ = true;
    threads.swap(threads_);
    finished_.clear();
  }
  ready_.notify_all();
  for (auto& [key, t] : threads) t.join();
}

std::vector<std::thread> IoPool::take_finished() {
  std::vector<std::thread> out;
  for (uint64_t key : finished_) {
    auto it = threads_.find(key);
    if (it == threads_.end()) continue;
    out.push_back(std::move(it->second));
    threads_.erase(it);
  }
  finished_.clear();
  return out;
}

void IoPool::work(uint64_t key) {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ++idle_;
    const bool woken =
        ready_.wait_for(lock, idle_exit_, [&] { return !jobs_.empty() || shutdown_; });
    --idle_;
    if (jobs_.empty()) {
      // Shutting down (shutdown() joins), or idle for idle_exit_ (the next enqueue joins).
      if (!woken && !shutdown_) finished_.push_back(key);
      return;
    }
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

}  // namespace maum::server

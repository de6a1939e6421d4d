#include "io_pool.h"

#include <algorithm>
#include <system_error>
#include <utility>

namespace maum::server {

IoPool::IoPool(size_t max_threads, std::chrono::milliseconds idle_exit)
    : max_threads_(std::max<size_t>(1, max_threads)), idle_exit_(idle_exit) {}

IoPool::~IoPool() { shutdown(); }

void IoPool::enqueue(std::function<void()> fn) {
  std::function<void()> run_here;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    join_finished();
    jobs_.push_back(std::move(fn));
    if (idle_ < jobs_.size() && threads_.size() < max_threads_) {
      try {
        std::thread t([this] { work(); });
        const std::thread::id id = t.get_id();
        threads_.emplace(id, std::move(t));
      } catch (const std::system_error&) {
        // Out of threads (RLIMIT_NPROC, memory): a running thread takes the job when it is free.
        // With none running, nobody would, so it runs here, on cpp-httplib's accepting thread.
        if (threads_.empty()) {
          run_here = std::move(jobs_.back());
          jobs_.pop_back();
        }
      }
    }
  }
  if (run_here) {
    run_here();
    return;
  }
  ready_.notify_one();
}

void IoPool::shutdown() {
  std::unordered_map<std::thread::id, std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    shutdown_ = true;
    threads.swap(threads_);
    finished_.clear();
  }
  ready_.notify_all();
  for (auto& [id, t] : threads) t.join();
}

size_t IoPool::threads() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return threads_.size() - finished_.size();
}

void IoPool::join_finished() {
  for (const std::thread::id& id : finished_) {
    auto it = threads_.find(id);
    if (it == threads_.end()) continue;
    it->second.join();  // it has given up the mutex for good: joining cannot wait on us
    threads_.erase(it);
  }
  finished_.clear();
}

void IoPool::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    ++idle_;
    const bool woken =
        ready_.wait_for(lock, idle_exit_, [&] { return !jobs_.empty() || shutdown_; });
    --idle_;
    if (jobs_.empty()) {
      // Shutting down, or idle for idle_exit_: end (shutdown() joins, or the next enqueue does).
      if (!woken && !shutdown_) finished_.push_back(std::this_thread::get_id());
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

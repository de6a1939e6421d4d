#include "engine/src/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace maum::engine {
namespace {

// How many parallel_for tasks this thread is inside (0 outside any): a parallel_for issued from a
// task runs inline, without touching the pool's lock (which the outermost caller may hold itself).
thread_local int t_task_depth = 0;

// Runs task(i) as a task of a parallel run: inside it, threads_here() is 1.
void run_task(const std::function<void(size_t)>& task, size_t i) {
  struct Depth {
    Depth() { ++t_task_depth; }
    ~Depth() { --t_task_depth; }
  } depth;
  task(i);
}

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

class ThreadPool {
 public:
  static ThreadPool& instance() {
    // Leaked on purpose: workers must not be joined during static destruction, when a late
    // parallel_for from another static's destructor could still need them.
    static ThreadPool* pool = new ThreadPool(hardware_threads());
    return *pool;
  }

  int threads() const { return threads_.load(std::memory_order_relaxed); }

  void resize(int threads) {
    if (threads <= 0) threads = hardware_threads();
    std::lock_guard<std::mutex> busy(busy_mutex_);
    if (threads == this->threads()) return;
    stop_workers();
    start_workers(threads);
  }

  void run(size_t count, const std::function<void(size_t)>& task) {
    if (count == 0) return;
    if (t_task_depth > 0) {  // nested: this thread is one of the run's threads already
      run_inline(count, task);
      return;
    }
    std::unique_lock<std::mutex> busy(busy_mutex_, std::try_to_lock);
    if (!busy.owns_lock() || workers_.empty() || count == 1) {
      run_inline(count, task);
      return;
    }
    task_ = &task;
    count_ = count;
    error_ = nullptr;
    next_.store(0, std::memory_order_relaxed);
    pending_workers_.store(workers_.size(), std::memory_order_relaxed);
    {
      // Publishing under the mutex pairs with the workers' condition-variable wait; spinning
      // workers see the release store directly.
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work(task, count);
    if (!spin_until([&] { return pending_workers_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return pending_workers_.load(std::memory_order_acquire) == 0; });
    }
    task_ = nullptr;
    if (error_) std::rethrow_exception(error_);
  }

 private:
  explicit ThreadPool(int threads) { start_workers(threads); }

  static void run_inline(size_t count, const std::function<void(size_t)>& task) {
    std::exception_ptr error;
    for (size_t i = 0; i < count; ++i) {
      try {
        run_task(task, i);
      } catch (...) {
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
  }

  // Claims tasks one at a time until none are left (dynamic scheduling evens out uneven tasks,
  // e.g. attention over sequences of different lengths).
  void work(const std::function<void(size_t)>& task, size_t count) {
    for (;;) {
      size_t i = next_.fetch_add(1);
      if (i >= count) return;
      try {
        run_task(task, i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = std::current_exception();
      }
    }
  }

  // A forward pass issues dozens of short parallel_for calls back to back; spinning briefly
  // before sleeping saves the futex wake-up latency (~10 us each) on every one of them.
  template <typename Ready>
  static bool spin_until(Ready ready) {
    for (int i = 0; i < kSpinIterations; ++i) {
      if (ready()) return true;
      if ((i & 63) == 63) std::this_thread::yield();
    }
    return ready();
  }

  // `seen` starts at the generation current when the worker was made, so a worker started by a
  // resize does not mistake the last finished run for a new one.
  void worker_loop(uint64_t seen) {
    for (;;) {
      if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen ||
                                   stopping_.load(std::memory_order_acquire); })) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] {
          return stopping_.load(std::memory_order_acquire) ||
                 generation_.load(std::memory_order_acquire) != seen;
        });
      }
      if (stopping_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      work(*task_, count_);
      if (pending_workers_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  void start_workers(int threads) {
    threads_.store(threads);
    stopping_.store(false);
    const uint64_t current = generation_.load();
    for (int i = 1; i < threads; ++i)
      workers_.emplace_back([this, current] { worker_loop(current); });
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  std::atomic<int> threads_{1};
  std::mutex busy_mutex_;  // held for the whole of one parallel run (or a resize)
  std::mutex mutex_;       // for the condition variables and error_
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  // Written by the caller before generation_ is bumped (release), read by workers after they see
  // the new generation (acquire).
  const std::function<void(size_t)>* task_ = nullptr;
  size_t count_ = 0;
  std::atomic<size_t> next_{0};
  std::atomic<size_t> pending_workers_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stopping_{false};
  std::exception_ptr error_;
  static constexpr int kSpinIterations = 4096;
};

}  // namespace

int pool_threads() { return ThreadPool::instance().threads(); }

int threads_here() { return t_task_depth > 0 ? 1 : pool_threads(); }

void parallel_for(size_t count, const std::function<void(size_t)>& task) {
  ThreadPool::instance().run(count, task);
}

void parallel_ranges(size_t total, size_t min_grain,
                     const std::function<void(size_t, size_t)>& range) {
  if (total == 0) return;
  min_grain = std::max<size_t>(min_grain, 1);
  size_t max_chunks = static_cast<size_t>(threads_here()) * 4;
  size_t chunks = std::max<size_t>(1, std::min(max_chunks, total / min_grain));
  size_t step = (total + chunks - 1) / chunks;
  chunks = (total + step - 1) / step;
  parallel_for(chunks, [&](size_t c) {
    size_t begin = c * step;
    range(begin, std::min(total, begin + step));
  });
}

void resize_pool(int threads) { ThreadPool::instance().resize(threads); }

}  // namespace maum::engine

#include "engine/src/thread_pool.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

namespace maum::engine {
namespace {

// How many parallel_for tasks this thread is inside (0 outside any): a parallel_for issued from a
// task runs inline, without touching the pool.
thread_local int t_task_depth = 0;
// How many ComputeScopes this thread is inside.
thread_local int t_scope_depth = 0;

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

// The pool: threads() - 1 workers that help whichever parallel runs are open. Several callers
// (ComputeScopes, e.g. a server's concurrent batches) share them: a run opened while `c` threads
// compute may take (threads() - c) / c helpers, so together they never exceed threads(); a run
// with no helper to spare runs inline. Workers join runs between tasks, so the split follows the
// callers as they come and go, one parallel_for at a time.
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
    // New runs go inline from here on, so that a steady stream of them cannot keep the lock
    // from us; then wait for the open ones.
    resizing_.fetch_add(1, std::memory_order_seq_cst);
    {
      std::unique_lock<std::shared_mutex> no_runs(runs_mutex_);
      if (threads != this->threads()) {
        stop_workers();
        start_workers(threads);
      }
    }
    resizing_.fetch_sub(1, std::memory_order_seq_cst);
  }

  void enter_scope() { computing_.fetch_add(1, std::memory_order_relaxed); }
  void leave_scope() { computing_.fetch_sub(1, std::memory_order_relaxed); }

  void run(size_t count, const std::function<void(size_t)>& task) {
    if (count == 0) return;
    if (t_task_depth > 0 || count == 1) {  // nested: this thread is one of a run's threads already
      run_inline(count, task);
      return;
    }
    ComputeScope scope;  // a caller outside any scope computes for the run's duration
    std::shared_lock<std::shared_mutex> no_resize(runs_mutex_, std::defer_lock);
    Run* run = nullptr;
    int helpers = 0;
    // During a resize: inline.
    if (resizing_.load(std::memory_order_seq_cst) == 0 && no_resize.try_lock()) {
      const int computing = std::max(1, computing_.load(std::memory_order_relaxed));
      helpers = std::min<int>(static_cast<int>(workers_.size()), (threads() - computing) / computing);
      if (helpers > 0) run = claim_slot();
    }
    if (run == nullptr) {
      if (no_resize.owns_lock()) no_resize.unlock();
      run_inline(count, task);
      return;
    }
    run->task = &task;
    run->count = count;
    run->max_helpers = helpers;
    run->error = nullptr;
    run->next.store(0, std::memory_order_relaxed);
    run->open.store(true, std::memory_order_seq_cst);
    {
      // Publishing under the mutex pairs with the workers' condition-variable wait; spinning
      // workers see the release store directly.
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work(*run);
    // Every task is claimed: no new helper may join; wait for those still on their last task.
    run->open.store(false, std::memory_order_seq_cst);
    if (!spin_until([&] { return run->helpers.load(std::memory_order_seq_cst) == 0; })) {
      std::unique_lock<std::mutex> lock(mutex_);
      done_.wait(lock, [&] { return run->helpers.load(std::memory_order_seq_cst) == 0; });
    }
    std::exception_ptr error = run->error;
    run->task = nullptr;
    run->claimed.store(false, std::memory_order_release);
    if (error) std::rethrow_exception(error);
  }

 private:
  struct alignas(64) Run {
    std::atomic<bool> claimed{false};  // a caller owns this slot
    std::atomic<bool> open{false};     // helpers may join
    // Helpers inside (and, for a moment, ones checking `open`). Never reset: every increment is
    // undone by its own thread, so a slot reused while a stale helper checks stays balanced.
    std::atomic<int> helpers{0};
    std::atomic<size_t> next{0};
    const std::function<void(size_t)>* task = nullptr;
    size_t count = 0;
    int max_helpers = 0;
    std::exception_ptr error;  // guarded by mutex_
  };
  static constexpr size_t kSlots = 8;  // concurrent runs with helpers; more callers run inline

  explicit ThreadPool(int threads) { start_workers(threads); }

  Run* claim_slot() {
    for (Run& r : runs_) {
      bool expected = false;
      if (!r.claimed.load(std::memory_order_relaxed) &&
          r.claimed.compare_exchange_strong(expected, true, std::memory_order_acquire))
        return &r;
    }
    return nullptr;
  }

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
  void work(Run& run) {
    const std::function<void(size_t)>& task = *run.task;
    for (;;) {
      size_t i = run.next.fetch_add(1, std::memory_order_relaxed);
      if (i >= run.count) return;
      try {
        run_task(task, i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!run.error) run.error = std::current_exception();
      }
    }
  }

  // A worker joins an open run with room for it and works until its tasks are all claimed.
  enum class Helped { kRun, kNothingOpen, kNoRoom };
  Helped help_one_run() {
    Helped outcome = Helped::kNothingOpen;
    for (Run& run : runs_) {
      if (!run.open.load(std::memory_order_acquire)) continue;
      const int before = run.helpers.fetch_add(1, std::memory_order_seq_cst);
      if (run.open.load(std::memory_order_seq_cst) &&
          run.next.load(std::memory_order_relaxed) < run.count) {
        if (before < run.max_helpers) {
          work(run);
          leave(run);
          return Helped::kRun;
        }
        outcome = Helped::kNoRoom;
      }
      leave(run);
    }
    return outcome;
  }

  void leave(Run& run) {
    // While the run is open its caller has not started waiting, and will read the count itself
    // (seq_cst: its close comes after this load in the one order).
    if (run.helpers.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
        !run.open.load(std::memory_order_seq_cst)) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_all();
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
  // resize does not mistake the last finished run for a new one. A worker that found the open runs
  // full sleeps without spinning: it is one too many for the threads computing now, and spinning
  // would take a core from them.
  void worker_loop(uint64_t seen) {
    bool spin = true;
    for (;;) {
      auto woken = [&] {
        return generation_.load(std::memory_order_acquire) != seen ||
               stopping_.load(std::memory_order_acquire);
      };
      if (!spin || !spin_until(woken)) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, woken);
      }
      if (stopping_.load(std::memory_order_acquire)) return;
      seen = generation_.load(std::memory_order_acquire);
      Helped helped;
      bool helped_any = false;
      while ((helped = help_one_run()) == Helped::kRun) helped_any = true;
      // Spin for the next run only where one is likely to need this worker: it just helped, or
      // one caller computes alone. A spare worker beside several callers sleeps.
      spin = helped_any ||
             (helped != Helped::kNoRoom && computing_.load(std::memory_order_relaxed) <= 1);
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
  std::atomic<int> computing_{0};     // threads inside a ComputeScope
  std::atomic<int> resizing_{0};      // resizes waiting for or holding runs_mutex_
  std::shared_mutex runs_mutex_;      // shared by open runs, exclusive for a resize
  std::mutex mutex_;                  // for the condition variables and the runs' errors
  std::condition_variable wake_, done_;
  std::vector<std::thread> workers_;
  std::array<Run, kSlots> runs_;
  std::atomic<uint64_t> generation_{0};  // bumped when a run opens
  std::atomic<bool> stopping_{false};
  static constexpr int kSpinIterations = 4096;
};

}  // namespace

ComputeScope::ComputeScope() {
  if (t_scope_depth++ == 0) ThreadPool::instance().enter_scope();
}

ComputeScope::~ComputeScope() {
  if (--t_scope_depth == 0) ThreadPool::instance().leave_scope();
}

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

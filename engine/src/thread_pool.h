// Internal: the one process-wide pool for intra-op parallelism. Sized by maum::set_num_threads
// (the caller's thread counts as one of them). Kernels stay single-threaded; the engine splits work
// into tasks and the pool runs them.
#pragma once
#include <cstddef>
#include <functional>

namespace maum::engine {

// Threads the engine may use (>= 1), as set by maum::set_num_threads (0 there = cores).
int pool_threads();

// Threads a parallel_for issued here would run on: 1 inside a task of a parallel run (where it
// runs inline), pool_threads() elsewhere. What work splitting should size itself by.
int threads_here();

// Marks the calling thread as computing until the scope ends (nested scopes count once), e.g.
// for a whole forward pass. Threads in scopes share the pool: a parallel_for opened while `c` of
// them compute gets at most (pool_threads() - c) / c of the pool's workers, so that together they
// use pool_threads() threads; one alone gets them all. A run keeps the helpers it got until its
// tasks are done: a caller that starts meanwhile adds its own thread until then.
class ComputeScope {
 public:
  ComputeScope();
  ~ComputeScope();
  ComputeScope(const ComputeScope&) = delete;
  ComputeScope& operator=(const ComputeScope&) = delete;
};

// Runs task(i) for every i in [0, count), on the calling thread plus the pool's workers, and
// returns when all are done. The first exception thrown by a task is rethrown here (the remaining
// tasks still run). Concurrent callers (e.g. a server's batches at once) share the workers as
// ComputeScope says (a caller outside any scope counts as one for the call); a call with no
// worker to spare, or made from inside a task (a nested call), runs its tasks inline on the
// calling thread. So concurrent callers never deadlock, and the pool never adds threads beyond
// pool_threads() to theirs.
void parallel_for(size_t count, const std::function<void(size_t)>& task);

// Splits [0, total) into at most pool_threads() * 4 contiguous ranges of at least min_grain items
// and runs range(begin, end) on each.
void parallel_ranges(size_t total, size_t min_grain,
                     const std::function<void(size_t, size_t)>& range);

// Resizes the pool (0 = cores). Runs started meanwhile go inline; waits for the open ones.
void resize_pool(int threads);

}  // namespace maum::engine

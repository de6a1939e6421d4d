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

// Runs task(i) for every i in [0, count), on the calling thread plus the pool's workers, and
// returns when all are done. The first exception thrown by a task is rethrown here (the remaining
// tasks still run). The pool runs one parallel_for at a time: a call made while it is busy
// (another thread's concurrent classify) or from inside a task (a nested call) runs its tasks
// inline on the calling thread, so concurrent callers never deadlock and never oversubscribe.
void parallel_for(size_t count, const std::function<void(size_t)>& task);

// Splits [0, total) into at most pool_threads() * 4 contiguous ranges of at least min_grain items
// and runs range(begin, end) on each.
void parallel_ranges(size_t total, size_t min_grain,
                     const std::function<void(size_t, size_t)>& range);

// Resizes the pool (0 = cores). Waits for a running parallel_for to finish first.
void resize_pool(int threads);

}  // namespace maum::engine

// The engine's thread pool: every task runs exactly once, errors reach the caller, nested and
// concurrent callers neither deadlock nor lose work, concurrent compute scopes share the threads
// without exceeding them, and resizing takes effect.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "engine/src/thread_pool.h"
#include "maum/runtime.h"

namespace maum::engine {
namespace {

TEST(ThreadPool, RunsEveryTaskExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    set_num_threads(threads);
    EXPECT_EQ(num_threads(), threads);
    for (size_t count : {0u, 1u, 2u, 7u, 1000u}) {
      std::vector<std::atomic<int>> hits(count);
      parallel_for(count, [&](size_t i) { hits[i].fetch_add(1); });
      for (size_t i = 0; i < count; ++i) ASSERT_EQ(hits[i].load(), 1) << "task " << i;
    }
  }
  set_num_threads(0);
  EXPECT_EQ(num_threads(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

TEST(ThreadPool, RangesCoverTheWholeInterval) {
  set_num_threads(4);
  for (size_t total : {1u, 5u, 64u, 1001u}) {
    std::vector<std::atomic<int>> hits(total);
    parallel_ranges(total, 3, [&](size_t b, size_t e) {
      ASSERT_LT(b, e);
      for (size_t i = b; i < e; ++i) hits[i].fetch_add(1);
    });
    for (size_t i = 0; i < total; ++i) ASSERT_EQ(hits[i].load(), 1);
  }
}

TEST(ThreadPool, RethrowsTaskErrorsAfterAllTasksRan) {
  set_num_threads(3);
  std::atomic<int> ran{0};
  EXPECT_THROW(parallel_for(50,
                            [&](size_t i) {
                              ran.fetch_add(1);
                              if (i == 17) throw std::runtime_error("task 17");
                            }),
               std::runtime_error);
  EXPECT_EQ(ran.load(), 50);
  // Still usable afterwards.
  std::atomic<int> after{0};
  parallel_for(10, [&](size_t) { after.fetch_add(1); });
  EXPECT_EQ(after.load(), 10);
}

TEST(ThreadPool, NestedCallsRunInline) {
  set_num_threads(4);
  std::atomic<int> inner{0};
  parallel_for(8, [&](size_t) { parallel_for(5, [&](size_t) { inner.fetch_add(1); }); });
  EXPECT_EQ(inner.load(), 40);
}

TEST(ThreadPool, ConcurrentCallersAllFinish) {
  set_num_threads(2);
  std::atomic<long> sum{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 50; ++rep) parallel_for(100, [&](size_t i) { sum.fetch_add(long(i)); });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(sum.load(), 4L * 50 * (99 * 100 / 2));
}

// Tasks that take a while and record how many run at once.
struct Occupancy {
  std::atomic<int> now{0}, most{0};
  void task() {
    const int running = now.fetch_add(1) + 1;
    int seen = most.load();
    while (running > seen && !most.compare_exchange_weak(seen, running)) {
    }
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    now.fetch_sub(1);
  }
};

TEST(ThreadPool, OneCallerGetsEveryThread) {
  set_num_threads(4);
  Occupancy occupancy;
  ComputeScope computing;
  parallel_for(64, [&](size_t) { occupancy.task(); });
  EXPECT_EQ(occupancy.most.load(), 4);
  set_num_threads(0);
}

TEST(ThreadPool, ConcurrentScopesShareThreadsWithoutExceedingThem) {
  // Two callers computing at once (a server's two batches) get 4 threads between them, not the
  // pool's 4 plus the second caller's own.
  set_num_threads(4);
  Occupancy occupancy;
  std::atomic<int> ready{0};
  std::atomic<long> done{0};
  auto caller = [&] {
    ComputeScope computing;
    ready.fetch_add(1);
    while (ready.load() < 2) std::this_thread::yield();
    for (int rep = 0; rep < 20; ++rep)
      parallel_for(16, [&](size_t) {
        occupancy.task();
        done.fetch_add(1);
      });
  };
  std::thread a(caller), b(caller);
  a.join();
  b.join();
  EXPECT_EQ(done.load(), 2L * 20 * 16);
  EXPECT_LE(occupancy.most.load(), 4);
  EXPECT_GE(occupancy.most.load(), 3) << "the two callers did not share the pool's workers";
  set_num_threads(0);
}

}  // namespace
}  // namespace maum::engine

// core/src/pages.h: the weight buffers. What callers rely on: zeroed memory of the size asked
// for, big buffers on 2 MiB boundaries (where huge pages can back them), 64-byte aligned arena
// pieces that never overlap, and ownership that moves.
#include <cstdint>
#include <cstring>
#include <set>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "core/src/pages.h"

namespace maum::core {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
}

TEST(PageBuffer, ZeroedWritableAndHugeAlignedWhenBig) {
  for (size_t bytes : {size_t{1}, size_t{4095}, size_t{4097}, kHugePage - 1, kHugePage,
                       3 * kHugePage + 12345}) {
    PageBuffer b(bytes);
    ASSERT_NE(b.data(), nullptr) << bytes;
    EXPECT_EQ(b.size(), bytes);
    EXPECT_TRUE(all_zero(b.data(), bytes)) << bytes;
    std::memset(b.data(), 0xA5, bytes);  // every byte writable (past the mapping would fault)
    EXPECT_EQ(b.data()[bytes - 1], 0xA5);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % 4096, 0u) << bytes;
    if (bytes >= kHugePage) EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % kHugePage, 0u) << bytes;
  }
  PageBuffer empty(0);
  EXPECT_EQ(empty.data(), nullptr);
  EXPECT_EQ(empty.size(), 0u);
}

TEST(PageBuffer, MovesOwnership) {
  PageBuffer a(kHugePage + 1);
  uint8_t* p = a.data();
  p[0] = 7;
  PageBuffer b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data(), p);
  PageBuffer c(100);
  c = std::move(b);  // frees c's own pages, takes b's
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(c.data()[0], 7);
  EXPECT_EQ(b.data(), nullptr);
}

TEST(PageBuffer, ImpossibleSizeIsBadAlloc) {
  EXPECT_THROW(PageBuffer(SIZE_MAX - 100), std::bad_alloc);
  EXPECT_THROW(PageBuffer(size_t{1} << 62), std::bad_alloc);  // more than any address space
}

TEST(PageArena, PiecesAreAlignedZeroedAndDisjoint) {
  PageArena arena;
  struct Piece {
    uint8_t* p;
    size_t n;
  };
  std::vector<Piece> pieces;
  // Small and large pieces, some bigger than a chunk (64 MiB), so that several chunks are used.
  for (size_t n : {size_t{1}, size_t{63}, size_t{64}, size_t{65}, size_t{1} << 20, size_t{5000},
                   size_t{70} << 20, size_t{3}, size_t{40} << 20, size_t{30} << 20}) {
    uint8_t* p = arena.allocate(n);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << n;
    EXPECT_TRUE(all_zero(p, n)) << n;
    std::memset(p, static_cast<int>(pieces.size() + 1), n);
    pieces.push_back({p, n});
  }
  // Each piece still holds its own fill: none was handed out twice or overlaps another.
  for (size_t i = 0; i < pieces.size(); ++i) {
    const uint8_t fill = static_cast<uint8_t>(i + 1);
    EXPECT_EQ(pieces[i].p[0], fill) << i;
    EXPECT_EQ(pieces[i].p[pieces[i].n - 1], fill) << i;
  }
  for (size_t i = 0; i < pieces.size(); ++i)
    for (size_t j = i + 1; j < pieces.size(); ++j) {
      const bool disjoint = pieces[i].p + pieces[i].n <= pieces[j].p || pieces[j].p + pieces[j].n <= pieces[i].p;
      EXPECT_TRUE(disjoint) << i << " " << j;
    }
}

TEST(PageArena, ZeroBytesAndImpossibleSizes) {
  PageArena arena;
  uint8_t* a = arena.allocate(0);
  uint8_t* b = arena.allocate(0);
  EXPECT_NE(a, nullptr);
  EXPECT_NE(b, nullptr);
  EXPECT_THROW(arena.allocate(SIZE_MAX), std::bad_alloc);
  EXPECT_THROW(arena.allocate(size_t{1} << 62), std::bad_alloc);
  EXPECT_NE(arena.allocate(128), nullptr);  // still usable after a refusal
}

}  // namespace
}  // namespace maum::core

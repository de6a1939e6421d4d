// Internal: large buffers straight from the system, for a model's weights (the file's bytes, the
// packed copies). Loading a model is mostly first touches of fresh memory: BERT-base's 440 MB in
// 4 KiB pages is ~110k page faults, about half of a one-sentence `maum classify` on it
// (docs/PERF.md, cold start). So these buffers are anonymous private pages, 2 MiB-aligned, and
// the ranges that will be written whole are offered to transparent huge pages (MADV_HUGEPAGE):
// one fault per 2 MiB. Ranges written sparsely are not, because a huge page makes a one-byte
// touch cost 2 MiB of memory. Where the system gives no huge pages, everything still works on
// ordinary pages.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace maum::core {

// One mapping of zeroed pages.
class PageBuffer {
 public:
  PageBuffer() = default;
  // `bytes` of zeroed memory (nothing for 0). Throws std::bad_alloc if the system refuses.
  explicit PageBuffer(size_t bytes);
  ~PageBuffer();
  PageBuffer(PageBuffer&& other) noexcept;
  PageBuffer& operator=(PageBuffer&& other) noexcept;
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;  // what was asked for
  void* mapping_ = nullptr;
  size_t mapped_ = 0;  // what was mapped: size_ rounded up to pages, plus the alignment slack
};

// Offers the whole 2 MiB pages inside [begin, begin + bytes) of a PageBuffer to transparent huge
// pages: for a range about to be written whole. A hint; nothing happens where it is refused.
void offer_huge_pages(const uint8_t* begin, size_t bytes);
// The opposite (MADV_NOHUGEPAGE) for the whole pages inside the range: for a buffer written
// sparsely (where THP "always" would back each touch with 2 MiB), and for pages given back, which
// khugepaged could otherwise collapse into a huge page again. A hint as well.
void refuse_huge_pages(const uint8_t* begin, size_t bytes);

// Many buffers carved from a few PageBuffers (64-byte aligned, each one written whole: offered to
// huge pages), all freed together: the packed weight copies of a model.
class PageArena {
 public:
  // `bytes` of zeroed memory, 64-byte aligned, valid until the arena is destroyed (0 bytes: a
  // valid pointer, possibly the same as other empty pieces'). Throws std::bad_alloc if the system
  // refuses.
  uint8_t* allocate(size_t bytes);

 private:
  std::vector<PageBuffer> chunks_;
  size_t used_ = 0;  // of chunks_.back()
};

}  // namespace maum::core

#include "core/src/pages.h"

#include <algorithm>
#include <new>
#include <sys/mman.h>
#include <utility>

namespace maum::core {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;  // x86-64's transparent huge page
constexpr size_t kPage = 4096;
// An arena's chunk: address space only until written, so a generous one costs nothing.
constexpr size_t kArenaChunk = size_t{64} << 20;
}  // namespace

PageBuffer::PageBuffer(size_t bytes) : size_(bytes) {
  if (bytes == 0) return;
  if (bytes > SIZE_MAX - 2 * kHugePage) throw std::bad_alloc();
  const size_t rounded = (bytes + kPage - 1) / kPage * kPage;
  // Slack to start on a 2 MiB boundary, where huge pages can be; small buffers need none.
  const bool align_huge = bytes >= kHugePage;
  mapped_ = align_huge ? rounded + kHugePage : rounded;
  void* p = ::mmap(nullptr, mapped_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  mapping_ = p;
  auto start = reinterpret_cast<uintptr_t>(p);
  if (align_huge) start = (start + kHugePage - 1) / kHugePage * kHugePage;
  data_ = reinterpret_cast<uint8_t*>(start);
}

PageBuffer::~PageBuffer() {
  if (mapping_) ::munmap(mapping_, mapped_);
}

PageBuffer::PageBuffer(PageBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapped_(std::exchange(other.mapped_, 0)) {}

PageBuffer& PageBuffer::operator=(PageBuffer&& other) noexcept {
  if (this != &other) {
    if (mapping_) ::munmap(mapping_, mapped_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapped_ = std::exchange(other.mapped_, 0);
  }
  return *this;
}

namespace {
// madvise(advice) over the whole `granule`-aligned blocks inside [begin, begin + bytes).
[[maybe_unused]] void advise_inside(const uint8_t* begin, size_t bytes, size_t granule, int advice) {
  const auto first = (reinterpret_cast<uintptr_t>(begin) + granule - 1) / granule * granule;
  const auto last = (reinterpret_cast<uintptr_t>(begin) + bytes) / granule * granule;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, advice);
}
}  // namespace

void offer_huge_pages(const uint8_t* begin, size_t bytes) {
#ifdef MADV_HUGEPAGE
  advise_inside(begin, bytes, kHugePage, MADV_HUGEPAGE);
#endif
}

void refuse_huge_pages(const uint8_t* begin, size_t bytes) {
#ifdef MADV_NOHUGEPAGE
  advise_inside(begin, bytes, kPage, MADV_NOHUGEPAGE);
#endif
}

uint8_t* PageArena::allocate(size_t bytes) {
  constexpr size_t kAlign = 64;
  if (bytes > SIZE_MAX - kArenaChunk) throw std::bad_alloc();
  const size_t padded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (chunks_.empty() || chunks_.back().size() - used_ < padded) {
    chunks_.emplace_back(std::max(kArenaChunk, padded));
    offer_huge_pages(chunks_.back().data(), chunks_.back().size());
    used_ = 0;
  }
  uint8_t* p = chunks_.back().data() + used_;
  used_ += padded;
  return p;
}

}  // namespace maum::core

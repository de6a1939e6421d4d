// Byte-level BPE model (see bpe.h).
#include "tokenizer/src/bpe.h"

#include <algorithm>
#include <atomic>
#include <unordered_map>

#include "tokenizer/src/tokenizer_impl.h"

namespace maum::tokenizer_detail {
namespace {

struct ByteMap {
  uint32_t to_unicode[256];
  int16_t from_unicode[512];
  ByteMap() {
    std::fill(std::begin(from_unicode), std::end(from_unicode), int16_t{-1});
    // bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the others for 256 + n.
    uint32_t n = 0;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_unicode[b] = printable ? b : 256 + n++;
      from_unicode[to_unicode[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

std::atomic<uint64_t> next_cache_owner{1};

// Words longer than this (bytes) are merged without the cache (HF caches words under 256 chars).
constexpr size_t kMaxCachedWord = 256;
constexpr size_t kMaxCachedWords = 32768;
constexpr size_t kMaxCachedTokens = 1 << 20;  // the cache stays under ~20 MB per thread

struct MergeCache {
  uint64_t owner = 0;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>> index;  // -> pool range
  std::vector<BpeToken> pool;
  std::string key;
};

// Per-thread working arrays of the merge.
struct Symbols {
  std::vector<int32_t> id, prev, next;
  std::vector<uint32_t> begin, end;
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator<(const Candidate& o) const {  // max-heap order: the lowest rank, then pos, on top
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::vector<Candidate> heap;
};

}  // namespace

uint32_t byte_to_unicode(uint8_t b) { return byte_map().to_unicode[b]; }

int unicode_to_byte(uint32_t cp) { return cp < 512 ? byte_map().from_unicode[cp] : -1; }

void bytes_to_mapped(std::string_view bytes, std::string& out) {
  for (char c : bytes) append_utf8(out, byte_to_unicode(static_cast<uint8_t>(c)));
}

BpeModel::BpeModel() : cache_owner_(next_cache_owner.fetch_add(1)) {
  std::fill(std::begin(byte_id_), std::end(byte_id_), -1);
}

namespace {
inline uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}
inline size_t pair_hash(uint64_t key) { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 20); }
}  // namespace

void BpeModel::insert_pair(int32_t left, int32_t right, int32_t rank, int32_t id) {
  const uint64_t key = pair_key(left, right);
  const size_t mask = slots_.size() - 1;
  for (size_t i = pair_hash(key) & mask;; i = (i + 1) & mask) {
    if (slots_[i].key == key || slots_[i].key == ~uint64_t{0}) {
      slots_[i] = Slot{key, rank, id};  // a repeated merge takes its last rank, as HF's HashMap
      return;
    }
  }
}

const BpeModel::Slot* BpeModel::find_pair(int32_t left, int32_t right) const {
  if (slots_.empty()) return nullptr;
  const uint64_t key = pair_key(left, right);
  const size_t mask = slots_.size() - 1;
  for (size_t i = pair_hash(key) & mask;; i = (i + 1) & mask) {
    if (slots_[i].key == key) return &slots_[i];
    if (slots_[i].key == ~uint64_t{0}) return nullptr;
  }
}

void BpeModel::merge_uncached(const uint8_t* bytes, size_t n, std::vector<BpeToken>& out) const {
  thread_local Symbols s;
  s.id.clear(); s.prev.clear(); s.next.clear(); s.begin.clear(); s.end.clear(); s.heap.clear();
  // One symbol per byte; a byte missing from the vocabulary is the unknown token, or dropped
  // when there is none (as HF's BPE without unk_token).
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = byte_id_[bytes[i]] >= 0 ? byte_id_[bytes[i]] : unk_id_;
    if (id < 0) continue;
    const int32_t k = static_cast<int32_t>(s.id.size());
    s.id.push_back(id);
    s.begin.push_back(static_cast<uint32_t>(i));
    s.end.push_back(static_cast<uint32_t>(i + 1));
    s.prev.push_back(k - 1);
    s.next.push_back(-1);
    if (k > 0) s.next[k - 1] = k;
  }
  const int32_t count = static_cast<int32_t>(s.id.size());
  auto push = [&](int32_t pos) {
    const int32_t nx = s.next[pos];
    if (nx < 0) return;
    if (const Slot* m = find_pair(s.id[pos], s.id[nx])) {
      s.heap.push_back({m->rank, pos, m->id});
      std::push_heap(s.heap.begin(), s.heap.end());
    }
  };
  for (int32_t k = 0; k + 1 < count; ++k) push(k);
  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end());
    const Symbols::Candidate top = s.heap.back();
    s.heap.pop_back();
    const int32_t pos = top.pos;
    if (s.id[pos] < 0) continue;  // merged into its left neighbour
    const int32_t nx = s.next[pos];
    if (nx < 0) continue;
    const Slot* m = find_pair(s.id[pos], s.id[nx]);
    if (!m || m->id != top.new_id) continue;  // stale
    s.id[pos] = top.new_id;
    s.end[pos] = s.end[nx];
    s.id[nx] = -1;
    s.next[pos] = s.next[nx];
    if (s.next[nx] >= 0) s.prev[s.next[nx]] = pos;
    if (s.prev[pos] >= 0) push(s.prev[pos]);
    push(pos);
  }
  for (int32_t k = count > 0 ? 0 : -1; k >= 0; k = s.next[k]) out.push_back({s.id[k], s.begin[k], s.end[k]});
}

void BpeModel::merge_word(const uint8_t* bytes, size_t n, std::vector<BpeToken>& out) const {
  if (n > kMaxCachedWord) {
    merge_uncached(bytes, n, out);
    return;
  }
  thread_local MergeCache cache;
  if (cache.owner != cache_owner_ || cache.index.size() >= kMaxCachedWords ||
      cache.pool.size() + n > kMaxCachedTokens) {
    cache.owner = cache_owner_;
    cache.index.clear();
    cache.pool.clear();
  }
  cache.key.assign(reinterpret_cast<const char*>(bytes), n);
  auto it = cache.index.find(cache.key);
  if (it == cache.index.end()) {
    const size_t first = cache.pool.size();
    merge_uncached(bytes, n, cache.pool);
    it = cache.index.emplace(cache.key, std::make_pair(static_cast<uint32_t>(first),
                                                       static_cast<uint32_t>(cache.pool.size() - first))).first;
  }
  out.insert(out.end(), cache.pool.begin() + it->second.first,
             cache.pool.begin() + it->second.first + it->second.second);
}

}  // namespace maum::tokenizer_detail

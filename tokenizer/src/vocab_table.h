// Open-addressing hash table from token bytes to id, keys stored in one arena: WordPiece probes it
// with substrings of the word, so lookups take (pointer, length) and allocate nothing.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace maum::tokenizer_detail {

class VocabTable {
 public:
  // Keeps the first id of a duplicate key; false for such a key.
  bool insert(std::string_view key, int32_t id) {
    if ((count_ + 1) * 2 > slots_.size()) grow(slots_for(count_ + 1));
    if (!place(key, id)) return false;
    ++count_;
    if (key.size() > max_key_length_) max_key_length_ = key.size();
    return true;
  }

  // Room for `keys` keys of `bytes` bytes in all without growing.
  void reserve(size_t keys, size_t bytes) {
    const size_t slots = slots_for(keys);
    if (slots > slots_.size()) grow(slots);
    arena_.reserve(bytes);
  }
  // Gives back what a reserve() for more keys than were inserted left unused (a file that repeats
  // keys): the table keeps no more than twice the slots its keys need.
  void shrink_to_fit() {
    if (slots_.size() > 2 * slots_for(count_)) grow(slots_for(count_));
    arena_.shrink_to_fit();
  }

  int32_t find(const char* key, size_t len) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash(key, len);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    size_t mask = slots_.size() - 1;
    for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.id < 0) return -1;
      if (s.tag == tag && s.length == len && std::memcmp(arena_.data() + s.offset, key, len) == 0)
        return s.id;
    }
  }

  size_t max_key_length() const { return max_key_length_; }
  size_t size() const { return count_; }

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t offset = 0;
    uint32_t length = 0;
    int32_t id = -1;
  };

  static size_t slots_for(size_t keys) {  // a power of two, at most half full
    size_t slots = 64;
    while (slots < keys * 2) slots *= 2;
    return slots;
  }

  static uint64_t hash(const char* p, size_t len) {
    // Multiply-xorshift over 8-byte words: tokens are short, so this beats byte-wise FNV.
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (len * 0xFF51AFD7ED558CCDull);
    while (len >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
      h ^= h >> 31;
      p += 8;
      len -= 8;
    }
    if (len) {
      uint64_t w = 0;
      std::memcpy(&w, p, len);
      h = (h ^ w) * 0x94D049BB133111EBull;
      h ^= h >> 29;
    }
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 32;
    return h;
  }

  bool place(std::string_view key, int32_t id) {
    const uint64_t h = hash(key.data(), key.size());
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    size_t mask = slots_.size() - 1;
    for (size_t i = static_cast<size_t>(h) & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.id < 0) {
        s.tag = tag;
        s.offset = static_cast<uint32_t>(arena_.size());
        s.length = static_cast<uint32_t>(key.size());
        s.id = id;
        arena_.append(key.data(), key.size());
        return true;
      }
      if (s.tag == tag && s.length == key.size() &&
          std::memcmp(arena_.data() + s.offset, key.data(), key.size()) == 0)
        return false;
    }
  }

  void grow(size_t slots) {  // rehashes into `slots` slots
    std::vector<Slot> old = std::move(slots_);
    std::string old_arena = std::move(arena_);
    slots_.assign(slots, Slot());
    arena_.clear();
    arena_.reserve(old_arena.size() * 2);
    for (const Slot& s : old)
      if (s.id >= 0) place(std::string_view(old_arena.data() + s.offset, s.length), s.id);
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t count_ = 0;
  size_t max_key_length_ = 0;
};

}  // namespace maum::tokenizer_detail

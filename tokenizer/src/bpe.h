// Byte-level BPE model as Hugging Face `tokenizers` runs it for GPT-2 / RoBERTa vocabularies: the
// GPT-2 byte -> unicode mapping, merges applied by rank (lowest first, leftmost on ties, one pair
// at a time as HF's BinaryHeap does) and a per-thread merge cache so repeated words are merged once.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace maum::tokenizer_detail {

// GPT-2's bytes_to_unicode(): the code point standing for each byte in the vocabulary.
uint32_t byte_to_unicode(uint8_t b);
// The byte a code point stands for, or -1 if it stands for none.
int unicode_to_byte(uint32_t cp);

// One token of a merged word: its id and the bytes [begin, end) of the word it covers.
struct BpeToken {
  int32_t id;
  uint32_t begin;
  uint32_t end;
};

class BpeModel {
 public:
  BpeModel();
  // vocab lookup for a token string (the vocabulary's, in mapped characters); -1 if absent.
  template <typename Find>
  void build(const std::vector<std::pair<std::string, std::string>>& merges, Find find, int32_t unk_id,
             std::string* error);
  // Merges the word (raw bytes) into tokens appended to out. Uses the calling thread's cache.
  void merge_word(const uint8_t* bytes, size_t n, std::vector<BpeToken>& out) const;

  const std::vector<std::pair<std::string, std::string>>& merges() const { return merges_; }

 private:
  struct Slot {
    uint64_t key;
    int32_t rank;
    int32_t id;
  };
  const Slot* find_pair(int32_t left, int32_t right) const;
  void insert_pair(int32_t left, int32_t right, int32_t rank, int32_t id);
  void merge_uncached(const uint8_t* bytes, size_t n, std::vector<BpeToken>& out) const;

  std::vector<std::pair<std::string, std::string>> merges_;  // in rank order (serialize)
  std::vector<Slot> slots_;
  int32_t byte_id_[256];
  int32_t unk_id_ = -1;
  uint64_t cache_owner_;  // distinguishes this model in the per-thread caches
};

// Appends the UTF-8 form of the mapped characters of bytes to out (the token string HF shows).
void bytes_to_mapped(std::string_view bytes, std::string& out);

template <typename Find>
void BpeModel::build(const std::vector<std::pair<std::string, std::string>>& merges, Find find,
                     int32_t unk_id, std::string* error) {
  unk_id_ = unk_id;
  std::string mapped;
  for (int b = 0; b < 256; ++b) {
    mapped.clear();
    const char c = static_cast<char>(b);
    bytes_to_mapped(std::string_view(&c, 1), mapped);
    byte_id_[b] = find(mapped);
  }
  merges_ = merges;
  size_t cap = 16;
  while (cap < merges.size() * 2 + 2) cap *= 2;
  slots_.assign(cap, Slot{~uint64_t{0}, 0, 0});
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& [a, b] = merges[i];
    const int32_t ia = find(a), ib = find(b), iab = find(a + b);
    if (ia < 0 || ib < 0 || iab < 0) {
      *error = "merge " + std::to_string(i + 1) + " (\"" + a + "\" \"" + b + "\"): " +
               (ia < 0 ? a : ib < 0 ? b : a + b) + " is not in the vocabulary";
      return;
    }
    insert_pair(ia, ib, static_cast<int32_t>(i), iab);
  }
}

}  // namespace maum::tokenizer_detail

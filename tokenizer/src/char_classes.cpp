// Where each class comes from (Hugging Face tokenizers' normalizers/bert.rs and
// pre_tokenizers/bert.rs):
//  * whitespace: Rust's char::is_whitespace (the stable White_Space property);
//  * control / format / private use, non-spacing marks and punctuation: the `unicode_categories`
//    0.1.1 crate, i.e. Unicode 8.0 data with only explicitly listed code points (no Cn at all, and
//    Co only at the ends of the private-use ranges). Those tables are generated into
//    hf_unicode_tables.inc by tools/gen_hf_unicode_tables.py; Cc has not changed since 8.0;
//  * NFD and lower-casing: Unicode 15.0 data generated into unicode_data_tables.inc (no Unicode
//    library at run time), except that HF's NFD tables are Unicode 9.0: characters added since
//    have combining class 0 and no decomposition (generated into hf_unicode_tables.inc).
//  * general categories for regex \w and \p{L} / \p{N}: Unicode 15.0 (unicode_data_tables.inc).
#include "tokenizer/src/char_classes.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace maum::tokenizer_detail {
namespace {

struct CodepointRange {
  uint32_t first;
  uint32_t last;
};

struct CombiningClassRange {
  uint32_t first;
  uint32_t last;
  uint8_t ccc;
};
struct Decomposition {
  uint32_t cp;
  uint8_t n;
  uint32_t to[4];
};
struct CaseMapping {
  uint32_t cp;
  uint32_t to;
};

#include "tokenizer/src/hf_unicode_tables.inc"
#include "tokenizer/src/unicode_data_tables.inc"

// Hangul syllables decompose algorithmically (Unicode 3.12).
constexpr uint32_t kHangulBase = 0xAC00, kHangulCount = 11172;
constexpr uint32_t kJamoL = 0x1100, kJamoV = 0x1161, kJamoT = 0x11A7, kJamoVCount = 21, kJamoTCount = 28;

const Decomposition* find_decomposition(uint32_t cp) {
  auto it = std::lower_bound(std::begin(kUcdDecomposition), std::end(kUcdDecomposition), cp,
                             [](const Decomposition& d, uint32_t c) { return d.cp < c; });
  return it != std::end(kUcdDecomposition) && it->cp == cp ? &*it : nullptr;
}

uint32_t simple_lowercase(uint32_t cp) {
  auto it = std::lower_bound(std::begin(kUcdLowercase), std::end(kUcdLowercase), cp,
                             [](const CaseMapping& m, uint32_t c) { return m.cp < c; });
  return it != std::end(kUcdLowercase) && it->cp == cp ? it->to : cp;
}

int canonical_combining_class(uint32_t cp) {
  auto it = std::upper_bound(std::begin(kUcdCombiningClass), std::end(kUcdCombiningClass), cp,
                             [](uint32_t c, const CombiningClassRange& r) { return c < r.first; });
  if (it == std::begin(kUcdCombiningClass)) return 0;
  --it;
  return cp <= it->last ? it->ccc : 0;
}

constexpr uint32_t kCodepointCount = 0x110000;
constexpr uint32_t kBlockBits = 8;
constexpr uint32_t kBlockSize = 1u << kBlockBits;

// Rust's char::is_whitespace (White_Space), HF's is_chinese_char (CJK ideograph blocks) and ASCII
// punctuation, as ranges: the tables below are built by marking ranges, not by testing each of
// the 1.1 million code points (that loop was most of a first tokenization's time).
constexpr CodepointRange kRustWhitespace[] = {
    {0x09, 0x0D}, {0x20, 0x20}, {0x85, 0x85}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A},
    {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
};
constexpr CodepointRange kChineseBlocks[] = {
    {0x4E00, 0x9FFF}, {0x3400, 0x4DBF}, {0x20000, 0x2A6DF}, {0x2A700, 0x2B73F},
    {0x2B740, 0x2B81F}, {0x2B920, 0x2CEAF}, {0xF900, 0xFAFF}, {0x2F800, 0x2FA1F},
};
constexpr CodepointRange kAsciiPunctuation[] = {{33, 47}, {58, 64}, {91, 96}, {123, 126}};
constexpr CodepointRange kHangulSyllables[] = {{kHangulBase, kHangulBase + kHangulCount - 1}};
// C0 and C1 controls but \t \n \r, NUL and U+FFFD: what BertNormalizer's clean_text drops
// (besides the format and private-use characters below).
constexpr CodepointRange kCleanTextRemoved[] = {
    {0x00, 0x08}, {0x0B, 0x0C}, {0x0E, 0x1F}, {0x7F, 0x9F}, {0xFFFD, 0xFFFD},
};

template <size_t N>
void mark_ranges(std::vector<uint8_t>& flags, const CodepointRange (&ranges)[N], uint8_t flag) {
  for (const auto& r : ranges)
    for (uint32_t cp = r.first; cp <= r.last; ++cp) flags[cp] |= flag;
}

// Two-level table: block index per 256 code points, deduplicated 256-byte blocks.
struct FlagTable {
  std::vector<uint16_t> block_of;
  std::vector<uint8_t> blocks;

  explicit FlagTable(const std::vector<uint8_t>& flags) {
    block_of.resize(kCodepointCount >> kBlockBits);
    // Deduplicated by content through a hash map: comparing each block with every kept one was
    // most of the first tokenization's time (docs/PERF.md, cold start).
    std::unordered_map<std::string_view, uint16_t> index_of;
    for (uint32_t b = 0; b < block_of.size(); ++b) {
      const std::string_view block(reinterpret_cast<const char*>(flags.data()) + (static_cast<size_t>(b) << kBlockBits),
                                   kBlockSize);
      const auto [it, added] = index_of.try_emplace(block, static_cast<uint16_t>(blocks.size() >> kBlockBits));
      if (added) blocks.insert(blocks.end(), block.begin(), block.end());
      block_of[b] = it->second;
    }
  }
  uint8_t operator()(uint32_t cp) const {
    if (cp >= kCodepointCount) return 0;
    return blocks[(static_cast<size_t>(block_of[cp >> kBlockBits]) << kBlockBits) | (cp & (kBlockSize - 1))];
  }
};

std::vector<uint8_t> hf_flags() {
  std::vector<uint8_t> flags(kCodepointCount, 0);
  mark_ranges(flags, kRustWhitespace, kWhitespace);
  mark_ranges(flags, kCleanTextRemoved, kRemovedByCleanText);
  mark_ranges(flags, kChineseBlocks, kChinese);
  mark_ranges(flags, kAsciiPunctuation, kPunctuation);
  mark_ranges(flags, kHangulSyllables, kDecomposes);
  flags[0x130] |= kLowercaseChanges;
  for (const auto& d : kUcdDecomposition) flags[d.cp] |= kDecomposes;
  for (const auto& m : kUcdLowercase)
    if (m.to != m.cp) flags[m.cp] |= kLowercaseChanges;
  for (const auto& r : kUcdCombiningClass)
    for (uint32_t cp = r.first; cp <= r.last; ++cp) flags[cp] |= kCombining;
  for (const auto& r : kHfNotCombining)
    for (uint32_t cp = r.first; cp <= r.last; ++cp) flags[cp] &= static_cast<uint8_t>(~kCombining);
  for (const auto& r : kHfNotDecomposed)
    for (uint32_t cp = r.first; cp <= r.last; ++cp) flags[cp] &= static_cast<uint8_t>(~kDecomposes);
  mark_ranges(flags, kHfFormat, kRemovedByCleanText);
  mark_ranges(flags, kHfPrivateUse, kRemovedByCleanText);
  mark_ranges(flags, kHfNonspacingMark, kNonspacingMark);
  mark_ranges(flags, kHfPunctuation, kPunctuation);
  // \t \n \r are whitespace, never removed.
  for (uint32_t cp : {0x09u, 0x0Au, 0x0Du}) flags[cp] &= static_cast<uint8_t>(~kRemovedByCleanText);
  return flags;
}

std::vector<uint8_t> category_flags() {
  std::vector<uint8_t> flags(kCodepointCount, 0);
  mark_ranges(flags, kUcdLetter, kLetter);
  mark_ranges(flags, kUcdMark, kMark);
  mark_ranges(flags, kUcdDecimalOrLetterNumber, kDecimalOrLetterNumber);
  mark_ranges(flags, kUcdOtherNumber, kOtherNumber);
  mark_ranges(flags, kUcdConnectorPunctuation, kConnectorPunctuation);
  mark_ranges(flags, kRustWhitespace, kSpace);
  return flags;
}

}  // namespace

uint8_t char_flags(uint32_t cp) {
  static const FlagTable table(hf_flags());
  return table(cp);
}

uint8_t category_class(uint32_t cp) {
  static const FlagTable table(category_flags());
  return table(cp);
}

int decompose_canonical(uint32_t cp, uint32_t out[4]) {
  if (cp >= kHangulBase && cp < kHangulBase + kHangulCount) {
    const uint32_t s = cp - kHangulBase;
    out[0] = kJamoL + s / (kJamoVCount * kJamoTCount);
    out[1] = kJamoV + (s % (kJamoVCount * kJamoTCount)) / kJamoTCount;
    if (s % kJamoTCount == 0) return 2;
    out[2] = kJamoT + s % kJamoTCount;
    return 3;
  }
  if (const Decomposition* d = find_decomposition(cp)) {
    for (int i = 0; i < d->n; ++i) out[i] = d->to[i];
    return d->n;
  }
  out[0] = cp;
  return 1;
}

int combining_class(uint32_t cp) {
  if (cp >= kCodepointCount || !(char_flags(cp) & kCombining)) return 0;
  return canonical_combining_class(cp);
}

int to_lowercase(uint32_t cp, uint32_t out[2]) {
  if (cp == 0x130) {  // the one unconditional one-to-many mapping: İ -> i + COMBINING DOT ABOVE
    out[0] = 'i';
    out[1] = 0x307;
    return 2;
  }
  out[0] = simple_lowercase(cp);
  return 1;
}

}  // namespace maum::tokenizer_detail

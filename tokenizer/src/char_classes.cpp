// Where each class comes from (Hugging Face tokenizers' normalizers/bert.rs and
// pre_tokenizers/bert.rs):
//  * whitespace: Rust's char::is_whitespace (the stable White_Space property);
//  * control / format / private use, non-spacing marks and punctuation: the `unicode_categories`
//    0.1.1 crate, i.e. Unicode 8.0 data with only explicitly listed code points (no Cn at all, and
//    Co only at the ends of the private-use ranges). Those tables are generated into
//    hf_unicode_tables.inc by tools/gen_hf_unicode_tables.py; Cc has not changed since 8.0;
//  * NFD and lower-casing: utf8proc, except that HF's NFD tables are Unicode 9.0: characters added
//    since have combining class 0 and no decomposition (also generated into the .inc).
#include "tokenizer/src/char_classes.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <mutex>
#include <vector>

#include <utf8proc.h>

namespace maum::tokenizer_detail {
namespace {

struct CodepointRange {
  uint32_t first;
  uint32_t last;
};

#include "tokenizer/src/hf_unicode_tables.inc"

constexpr uint32_t kCodepointCount = 0x110000;
constexpr uint32_t kBlockBits = 8;
constexpr uint32_t kBlockSize = 1u << kBlockBits;

bool is_rust_whitespace(uint32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_chinese(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool is_ascii_punctuation(uint32_t cp) {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
         (cp >= 123 && cp <= 126);
}

template <size_t N>
void mark_ranges(std::vector<uint8_t>& flags, const CodepointRange (&ranges)[N], uint8_t flag) {
  for (const auto& r : ranges)
    for (uint32_t cp = r.first; cp <= r.last; ++cp) flags[cp] |= flag;
}

// Two-level table: block index per 256 code points, deduplicated 256-byte blocks.
struct FlagTable {
  std::vector<uint16_t> block_of;
  std::vector<uint8_t> blocks;

  FlagTable() {
    std::vector<uint8_t> flags(kCodepointCount, 0);
    for (uint32_t cp = 0; cp < kCodepointCount; ++cp) {
      uint8_t f = 0;
      if (is_rust_whitespace(cp)) f |= kWhitespace;
      const bool control = cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
      if ((control && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0 || cp == 0xFFFD)
        f |= kRemovedByCleanText;
      if (is_chinese(cp)) f |= kChinese;
      if (is_ascii_punctuation(cp)) f |= kPunctuation;
      if (cp < 0xD800 || cp > 0xDFFF) {
        utf8proc_int32_t buf[4];
        int last_boundclass = 0;
        utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf, 4,
                                                     UTF8PROC_DECOMPOSE, &last_boundclass);
        if (n != 1 || static_cast<uint32_t>(buf[0]) != cp) f |= kDecomposes;
        if (utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class != 0) f |= kCombining;
        if (cp == 0x130 || static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))) != cp)
          f |= kLowercaseChanges;
      }
      flags[cp] = f;
    }
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

    block_of.resize(kCodepointCount >> kBlockBits);
    for (uint32_t b = 0; b < block_of.size(); ++b) {
      const uint8_t* src = flags.data() + (static_cast<size_t>(b) << kBlockBits);
      size_t found = blocks.size();
      for (size_t k = 0; k < blocks.size(); k += kBlockSize) {
        if (std::equal(src, src + kBlockSize, blocks.data() + k)) {
          found = k;
          break;
        }
      }
      if (found == blocks.size()) blocks.insert(blocks.end(), src, src + kBlockSize);
      block_of[b] = static_cast<uint16_t>(found >> kBlockBits);
    }
  }
};

const FlagTable& flag_table() {
  static const FlagTable table;
  return table;
}

}  // namespace

uint8_t char_flags(uint32_t cp) {
  static const FlagTable& t = flag_table();
  if (cp >= kCodepointCount) return 0;
  return t.blocks[(static_cast<size_t>(t.block_of[cp >> kBlockBits]) << kBlockBits) |
                  (cp & (kBlockSize - 1))];
}

int decompose_canonical(uint32_t cp, uint32_t out[4]) {
  utf8proc_int32_t buf[4];
  int last_boundclass = 0;
  utf8proc_ssize_t n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buf, 4,
                                               UTF8PROC_DECOMPOSE, &last_boundclass);
  if (n < 1 || n > 4) {
    out[0] = cp;
    return 1;
  }
  for (utf8proc_ssize_t i = 0; i < n; ++i) out[i] = static_cast<uint32_t>(buf[i]);
  return static_cast<int>(n);
}

int combining_class(uint32_t cp) {
  if (cp >= kCodepointCount || !(char_flags(cp) & kCombining)) return 0;
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
}

int to_lowercase(uint32_t cp, uint32_t out[2]) {
  if (cp == 0x130) {  // the one unconditional one-to-many mapping: İ -> i + COMBINING DOT ABOVE
    out[0] = 'i';
    out[1] = 0x307;
    return 2;
  }
  out[0] = static_cast<uint32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
  return 1;
}

}  // namespace maum::tokenizer_detail

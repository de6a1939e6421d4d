// Per-code-point classes the BERT normalizer and pre-tokenizer need, exactly as Hugging Face
// `tokenizers` computes them (see char_classes.cpp for where each one comes from).
#pragma once
#include <cstdint>

namespace maum::tokenizer_detail {

enum CharFlag : uint8_t {
  kRemovedByCleanText = 1 << 0,  // U+0000, U+FFFD and HF's "other" (Cc, Cf, Co) except \t \n \r
  kWhitespace = 1 << 1,          // Rust char::is_whitespace (White_Space), plus \t \n \r
  kChinese = 1 << 2,             // the CJK ideograph blocks HF lists
  kPunctuation = 1 << 3,         // ASCII punctuation or HF's P* (Unicode 8.0 tables)
  kNonspacingMark = 1 << 4,      // HF's Mn (Unicode 8.0 tables): dropped by strip_accents
  kDecomposes = 1 << 5,          // canonical decomposition (NFD) differs from the character
  kLowercaseChanges = 1 << 6,    // char::to_lowercase differs from the character
  kCombining = 1 << 7,           // canonical combining class is not 0 (NFD reorders it)
};

// Unicode 15.0 general-category classes (regex \w, \p{L}, \p{N}, \s as Oniguruma and Rust's
// regex define them).
enum CategoryFlag : uint8_t {
  kLetter = 1 << 0,                 // L*
  kMark = 1 << 1,                   // M*
  kDecimalOrLetterNumber = 1 << 2,  // Nd, Nl
  kOtherNumber = 1 << 3,            // No
  kConnectorPunctuation = 1 << 4,   // Pc
  kSpace = 1 << 5,                  // White_Space
};
uint8_t category_class(uint32_t cp);

// Regex \w (letters, marks, Nd/Nl digits, connector punctuation, ZWNJ/ZWJ).
inline bool is_word_char(uint32_t cp) {
  return (category_class(cp) & (kLetter | kMark | kDecimalOrLetterNumber | kConnectorPunctuation)) ||
         cp == 0x200C || cp == 0x200D;
}

// Canonical combining class (0 for starters).
int combining_class(uint32_t cp);

// Flags of a code point (< 0x110000). The table is built once, thread-safely, on first use.
uint8_t char_flags(uint32_t cp);

// Canonical decomposition (NFD of a single code point, Hangul included); writes up to 4 code
// points to out and returns how many.
int decompose_canonical(uint32_t cp, uint32_t out[4]);

// Full lower-case mapping as Rust's char::to_lowercase; writes 1 or 2 code points.
int to_lowercase(uint32_t cp, uint32_t out[2]);

}  // namespace maum::tokenizer_detail

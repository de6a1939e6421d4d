// Shared by the tokenizer fuzz targets (fuzz_tokenizer, fuzz_tokenizer_bpe): encode / encode_pair
// / decode of arbitrary bytes in strict and replace modes, each result checked for well-formedness
// (ids in the vocabulary, offsets inside the text, parallel arrays, truncation holding).
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "maum/error.h"
#include "maum/tokenizer.h"

namespace maum_fuzz {

inline std::string shared_dir() {
  const char* env = std::getenv("MAUM_SHARED");
  return env && *env ? env : MAUM_SHARED_DEFAULT;
}

inline size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

inline void check(const maum::Tokenizer& tok, const maum::Encoding& e, size_t max_offset) {
  if (e.ids.size() != e.type_ids.size() || e.ids.size() != e.offsets.size() ||
      e.ids.size() != e.attention_mask.size())
    __builtin_trap();
  for (size_t i = 0; i < e.ids.size(); ++i) {
    if (e.ids[i] < 0 || static_cast<size_t>(e.ids[i]) >= tok.vocab_size()) __builtin_trap();
    if (e.offsets[i].first > e.offsets[i].second || e.offsets[i].second > max_offset) __builtin_trap();
  }
}

inline void run(const maum::Tokenizer& tok, std::string_view text) {
  maum::EncodeOptions strict;
  bool valid = true;
  try {
    maum::Encoding e = tok.encode(text, strict);
    check(tok, e, code_points(text));
  } catch (const maum::InvalidArgument&) {
    valid = false;  // invalid UTF-8: the documented error
  }
  maum::EncodeOptions replace;
  replace.invalid_utf8 = maum::InvalidUtf8::kReplace;
  // With replacement each invalid byte becomes at most one U+FFFD: never more code points than bytes.
  maum::Encoding r = tok.encode(text, replace);
  check(tok, r, valid ? code_points(text) : text.size());
  replace.max_length = 1 + text.size() % 16;
  replace.pad_to_length = text.size() % 24;
  const size_t half = text.size() / 2;
  (void)tok.decode(r.ids);
  // A max_length below the pair's special tokens (3 for BERT, 4 for RoBERTa) is refused (as in
  // HF); any other must encode.
  if (replace.max_length < tok.encode_pair("", "").ids.size()) {
    try {
      (void)tok.encode_pair(text.substr(0, half), text.substr(half), replace);
    } catch (const maum::InvalidArgument&) {
      return;
    }
    __builtin_trap();
  }
  maum::Encoding p = tok.encode_pair(text.substr(0, half), text.substr(half), replace);
  check(tok, p, text.size());
  if (!p.ids.empty() && p.ids.size() > std::max(replace.max_length, replace.pad_to_length))
    __builtin_trap();  // truncation must hold (the specials fit)
}

}  // namespace maum_fuzz

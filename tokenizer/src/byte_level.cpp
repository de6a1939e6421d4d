// ByteLevel pre-tokenizer and the byte-level BPE path of a segment, as HF `tokenizers` runs them
// for GPT-2 / RoBERTa: optional prefix space per split, the GPT-2 regex
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// (hand-written, with the generated Unicode 15.0 categories), each piece's UTF-8 bytes merged by
// the BPE model, and offsets in code points: a token covers the characters its bytes come from
// (a token holding some bytes of a character covers that whole character, as HF reports it), then
// trim_offsets drops the leading/trailing spaces ("Ġ") of a token from its offsets.
#include <algorithm>

#include "tokenizer/src/tokenizer_impl.h"
#include "tokenizer/src/utf8.h"

namespace maum {

using tokenizer_detail::category_class;

namespace {

inline bool is_letter(uint32_t cp) { return category_class(cp) & tokenizer_detail::kLetter; }
inline bool is_number(uint32_t cp) {
  return category_class(cp) & (tokenizer_detail::kDecimalOrLetterNumber | tokenizer_detail::kOtherNumber);
}
inline bool is_space(uint32_t cp) { return category_class(cp) & tokenizer_detail::kSpace; }

// End of the GPT-2 regex match that starts at i (i < n); every position starts a match.
size_t regex_match_end(const uint32_t* cps, size_t i, size_t n) {
  const uint32_t c = cps[i];
  if (c == '\'' && i + 1 < n) {
    const uint32_t c1 = cps[i + 1];
    if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return i + 2;
    if (i + 2 < n) {
      const uint32_t c2 = cps[i + 2];
      if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return i + 3;
    }
  }
  // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+"
  const size_t k = c == ' ' ? i + 1 : i;
  if (k < n) {
    const uint32_t d = cps[k];
    if (is_letter(d)) {
      size_t j = k + 1;
      while (j < n && is_letter(cps[j])) ++j;
      return j;
    }
    if (is_number(d)) {
      size_t j = k + 1;
      while (j < n && is_number(cps[j])) ++j;
      return j;
    }
    auto other = [](uint32_t x) { return !is_space(x) && !is_letter(x) && !is_number(x); };
    if (other(d)) {
      size_t j = k + 1;
      while (j < n && other(cps[j])) ++j;
      return j;
    }
  }
  // c is whitespace: "\s+(?!\S)" leaves the last space of a run to the word after it; "\s+".
  size_t r = i + 1;
  while (r < n && is_space(cps[r])) ++r;
  if (r == n) return n;
  return r - 1 > i ? r - 1 : r;
}

}  // namespace

// One regex piece: its UTF-8 bytes through the BPE model, offsets from the bytes' origins.
void Tokenizer::Impl::byte_level_piece(const uint32_t* cps, const uint32_t* origins, size_t n,
                                       Pieces& out) const {
  Scratch& s = scratch();
  s.piece.clear();
  s.byte_origin.clear();
  for (size_t i = 0; i < n; ++i) {
    const size_t before = s.piece.size();
    append_utf8(s.piece, cps[i]);
    s.byte_origin.insert(s.byte_origin.end(), s.piece.size() - before, origins[i]);
  }
  s.bpe_tokens.clear();
  bpe.merge_word(reinterpret_cast<const uint8_t*>(s.piece.data()), s.piece.size(), s.bpe_tokens);
  for (const auto& t : s.bpe_tokens) {
    uint32_t start = s.byte_origin[t.begin];
    uint32_t end = s.byte_origin[t.end - 1] + 1;
    if (trim_offsets) {
      // HF's process_offsets: "Ġ" (a space byte) at either end of the token is not part of it.
      uint32_t leading = 0, trailing = 0;
      while (t.begin + leading < t.end && s.piece[t.begin + leading] == ' ') ++leading;
      while (t.end - trailing > t.begin && s.piece[t.end - 1 - trailing] == ' ') ++trailing;
      trim_token_offsets(leading, trailing, out.ids.size(), start, end);
    }
    out.ids.push_back(t.id);
    out.offsets.push_back({start, end});
  }
}

// One split (text between added tokens): the prefix space, then the regex pieces.
void Tokenizer::Impl::byte_level_split(const uint32_t* cps, const uint32_t* origins, size_t n,
                                       Pieces& out) const {
  if (n == 0) return;
  Scratch& s = scratch();
  if (add_prefix_space && cps[0] != ' ') {
    // HF prepends a space that takes the alignment of the split's first character.
    s.split_cps.assign(1, ' ');
    s.split_origins.assign(1, origins[0]);
    s.split_cps.insert(s.split_cps.end(), cps, cps + n);
    s.split_origins.insert(s.split_origins.end(), origins, origins + n);
    cps = s.split_cps.data();
    origins = s.split_origins.data();
    ++n;
  }
  if (!use_regex) {
    byte_level_piece(cps, origins, n, out);
    return;
  }
  for (size_t i = 0; i < n;) {
    const size_t j = regex_match_end(cps, i, n);
    byte_level_piece(cps + i, origins + i, j - i, out);
    i = j;
  }
}

void Tokenizer::Impl::encode_segment_bpe(const char* text, size_t begin, size_t end, uint32_t first_char,
                                         Pieces& out) const {
  Scratch& s = scratch();
  s.cps.clear();
  s.origins.clear();
  const uint8_t* p = reinterpret_cast<const uint8_t*>(text) + begin;
  const uint8_t* e = reinterpret_cast<const uint8_t*>(text) + end;
  for (uint32_t index = first_char; p < e; ++index) {
    s.cps.push_back(*p < 0x80 ? *p++ : tokenizer_detail::decode_valid_utf8(p));
    s.origins.push_back(index);
  }
  // (byte_level_split and byte_level_piece use scratch arrays of their own.)
  const std::vector<uint32_t>& cps = s.cps;
  const std::vector<uint32_t>& origins = s.origins;
  if (normalized_added.empty()) {
    byte_level_split(cps.data(), origins.data(), cps.size(), out);
    return;
  }
  // Added tokens with normalized=true: there is no normalizer, so they are matched in the split's
  // own text (leftmost, longest), after the raw ones, as HF's second pass does.
  size_t split_begin = 0;
  for (size_t i = 0; i < cps.size();) {
    const NormalizedAdded* match = nullptr;
    for (const auto& a : normalized_added)
      if (a.pattern.size() <= cps.size() - i &&
          std::equal(a.pattern.begin(), a.pattern.end(), cps.begin() + static_cast<std::ptrdiff_t>(i)) &&
          (!match || a.pattern.size() > match->pattern.size()))
        match = &a;
    if (!match) {
      ++i;
      continue;
    }
    byte_level_split(cps.data() + split_begin, origins.data() + split_begin, i - split_begin, out);
    const size_t last = i + match->pattern.size() - 1;
    out.ids.push_back(match->id);
    out.offsets.push_back({origins[i], origins[last] + 1});
    i = last + 1;
    split_begin = i;
  }
  byte_level_split(cps.data() + split_begin, origins.data() + split_begin, cps.size() - split_begin, out);
}

}  // namespace maum

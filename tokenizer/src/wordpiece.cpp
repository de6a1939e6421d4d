// WordPiece: greedy longest-match-first with the continuing-subword prefix.

#include "tokenizer/src/tokenizer_impl.h"

namespace maum {

using tokenizer_detail::VocabTable;

// Greedy longest-match-first WordPiece over the word in s.word / s.char_byte / s.char_origin.
void Tokenizer::Impl::wordpiece(Scratch& s, Pieces& out) const {
  const size_t n_chars = s.char_origin.size();
  if (n_chars == 0) return;
  const uint32_t word_begin = s.char_origin.front();
  const uint32_t word_end = s.char_origin.back() + 1;
  if (n_chars > max_input_chars_per_word) {
    out.ids.push_back(unk_id);
    out.offsets.push_back({word_begin, word_end});
    return;
  }
  const size_t mark = out.ids.size();
  const char* bytes = s.word.data();
  const uint32_t* cb = s.char_byte.data();
  size_t start = 0;
  while (start < n_chars) {
    const VocabTable& table = start == 0 ? vocab : continuing;
    const size_t max_len = table.max_key_length();
    // The longest candidate: no key is longer than max_len bytes.
    size_t end = n_chars;
    while (end > start && cb[end] - cb[start] > max_len) --end;
    int32_t id = -1;
    for (; end > start; --end) {
      id = table.find(bytes + cb[start], cb[end] - cb[start]);
      if (id >= 0) break;
    }
    if (id < 0) {
      out.ids.resize(mark);
      out.offsets.resize(mark);
      out.ids.push_back(unk_id);
      out.offsets.push_back({word_begin, word_end});
      return;
    }
    out.ids.push_back(id);
    out.offsets.push_back({s.char_origin[start], s.char_origin[end - 1] + 1});
    start = end;
  }
}

}  // namespace maum

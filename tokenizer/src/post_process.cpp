// Post-processing: truncation (longest_first for pairs), the special-token template, padding.
#include <algorithm>
#include <string>

#include "maum/error.h"
#include "tokenizer/src/tokenizer_impl.h"

namespace maum {

Encoding Tokenizer::Impl::post_process(Pieces* a, Pieces* b, const EncodeOptions& options) const {
  if (options.max_length > 0) {
    const size_t added_n = options.add_special_tokens ? added_count(b != nullptr) : 0;
    // As HF tokenizers (TruncationError::MaxLengthTooLow): the special tokens alone must fit;
    // otherwise the result would be longer than max_length.
    if (options.max_length < added_n)
      throw InvalidArgument("max_length " + std::to_string(options.max_length) +
                            " is too low: the special tokens alone take " +
                            std::to_string(added_n));
    const size_t max_len = options.max_length - added_n;
    size_t n1 = a->ids.size(), n2 = b ? b->ids.size() : 0;
    if (n1 + n2 > max_len) {
      if (b) {
        // longest_first, as HF's truncate_encodings.
        bool swapped = false;
        if (n1 > n2) { std::swap(n1, n2); swapped = true; }
        if (n1 > max_len) n2 = n1;
        else n2 = std::max(n1, max_len - n1);
        if (n1 + n2 > max_len) {
          n1 = max_len / 2;
          n2 = n1 + max_len % 2;
        }
        if (swapped) std::swap(n1, n2);
        n1 = std::min(n1, a->ids.size());
        n2 = std::min(n2, b->ids.size());
        b->ids.resize(n2);
        b->offsets.resize(n2);
      } else {
        n1 = max_len;
      }
      a->ids.resize(n1);
      a->offsets.resize(n1);
    }
  }
  Encoding enc;
  const size_t total = a->ids.size() + (b ? b->ids.size() : 0) + 4;
  enc.ids.reserve(std::max(total, options.pad_to_length));
  enc.type_ids.reserve(enc.ids.capacity());
  enc.offsets.reserve(enc.ids.capacity());
  auto append_seq = [&](const Pieces& p, int32_t type_id) {
    enc.ids.insert(enc.ids.end(), p.ids.begin(), p.ids.end());
    enc.offsets.insert(enc.offsets.end(), p.offsets.begin(), p.offsets.end());
    enc.type_ids.insert(enc.type_ids.end(), p.ids.size(), type_id);
  };
  if (options.add_special_tokens) {
    for (const auto& piece : b ? pair_template : single_template) {
      if (piece.is_sequence) {
        const Pieces* p = piece.sequence == 0 ? a : b;
        if (p) append_seq(*p, piece.type_id);
      } else if (const SpecialTokenIds* s = special(piece.special)) {
        for (int32_t id : s->ids) {
          enc.ids.push_back(id);
          enc.type_ids.push_back(piece.type_id);
          enc.offsets.push_back({0, 0});
        }
      }
    }
  } else {
    append_seq(*a, 0);
    if (b) append_seq(*b, 1);
  }
  enc.attention_mask.assign(enc.ids.size(), 1);
  if (options.pad_to_length > enc.ids.size()) {
    if (pad < 0) throw InvalidArgument("padding requested but the vocabulary has no pad token " + pad_token);
    const size_t n = options.pad_to_length - enc.ids.size();
    enc.ids.insert(enc.ids.end(), n, pad);
    enc.type_ids.insert(enc.type_ids.end(), n, 0);
    enc.offsets.insert(enc.offsets.end(), n, {0, 0});
    enc.attention_mask.insert(enc.attention_mask.end(), n, 0);
  }
  return enc;
}

}  // namespace maum

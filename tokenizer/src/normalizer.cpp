// BertNormalizer (clean_text, Chinese characters, NFD + accent stripping, lower-casing) with HF's
// alignments, feeding the pre-tokenizer sink; added tokens with normalized=true.
#include <algorithm>
#include <vector>

#include "tokenizer/src/utf8.h"
#include "tokenizer/src/tokenizer_impl.h"

namespace maum {

using tokenizer_detail::char_flags;

// BertNormalizer over text[begin, end) (valid UTF-8) whose first code point has index first_char
// in the original text; every normalized code point goes to the sink with its origin.
template <typename Sink>
void Tokenizer::Impl::normalize(const char* text, size_t begin, size_t end, uint32_t first_char,
                                Sink& sink) const {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(text) + begin;
  const uint8_t* e = reinterpret_cast<const uint8_t*>(text) + end;
  uint32_t index = first_char;
  uint32_t decomposed[4];
  // strip_accents runs NFD over the whole text: a run of combining characters (non-zero combining
  // class) is put in canonical order before the marks are dropped. HF's alignments follow the
  // sequence, not the moved characters: after sorting, the k-th character that was not inserted by
  // a decomposition takes the origin of the k-th such character before sorting, and inserted ones
  // take the origin last taken (see NormalizedString::transform).
  struct RunEntry {
    uint32_t cp;
    uint32_t origin;
    bool inserted;
  };
  std::vector<RunEntry> run;
  uint32_t last_origin = first_char;  // origin of the last non-inserted character emitted
  auto finish_char = [&](uint32_t c, uint32_t origin, uint8_t fc) {
    if (strip_accents && (fc & tokenizer_detail::kNonspacingMark)) return;
    if (lowercase && (fc & tokenizer_detail::kLowercaseChanges)) {
      uint32_t lower[2];
      const int m = tokenizer_detail::to_lowercase(c, lower);
      for (int q = 0; q < m; ++q) sink.any(lower[q], origin);
    } else {
      sink.any(c, origin);
    }
  };
  auto flush_run = [&]() {
    std::vector<uint32_t> consumed;
    for (const auto& r : run)
      if (!r.inserted) consumed.push_back(r.origin);
    std::stable_sort(run.begin(), run.end(), [](const RunEntry& a, const RunEntry& b) {
      return tokenizer_detail::combining_class(a.cp) < tokenizer_detail::combining_class(b.cp);
    });
    size_t next = 0;
    for (const auto& r : run) {
      if (!r.inserted) last_origin = consumed[next++];
      finish_char(r.cp, last_origin, char_flags(r.cp));
    }
    run.clear();
  };
  for (; p < e; ++index) {
    uint32_t cp;
    if (*p < 0x80) {
      cp = *p++;
      // ASCII fast path: letters and digits need no normalization beyond lower-casing.
      if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
        if (!run.empty()) flush_run();
        last_origin = index;
        sink.ascii_letter(static_cast<char>(cp), index);
        continue;
      }
      if (cp >= 'A' && cp <= 'Z') {
        if (!run.empty()) flush_run();
        last_origin = index;
        sink.ascii_letter(static_cast<char>(lowercase ? cp + 32 : cp), index);
        continue;
      }
    } else {
      cp = tokenizer_detail::decode_valid_utf8(p);
    }
    const uint8_t f = char_flags(cp);
    if (f == 0) {  // nothing to normalize, not a separator, a starter (most Hangul)
      if (!run.empty()) flush_run();
      last_origin = index;
      sink.letter(cp, index);
      continue;
    }
    if (clean_text) {
      if (f & tokenizer_detail::kRemovedByCleanText) continue;
      if (f & tokenizer_detail::kWhitespace) {
        if (!run.empty()) flush_run();
        last_origin = index;
        sink.space(index);
        continue;
      }
    }
    // HF surrounds an ideograph with spaces: a word of its own.
    const bool isolate = handle_chinese_chars && (f & tokenizer_detail::kChinese);
    if (isolate) {
      if (!run.empty()) flush_run();
      last_origin = index;
      sink.space(index);
    }
    int n = 1;
    decomposed[0] = cp;
    if (strip_accents && (f & tokenizer_detail::kDecomposes))
      n = tokenizer_detail::decompose_canonical(cp, decomposed);
    for (int k = 0; k < n; ++k) {
      const uint32_t c = decomposed[k];
      const uint8_t fc = n == 1 ? f : char_flags(c);
      if (strip_accents) {
        if (fc & tokenizer_detail::kCombining) {
          run.push_back({c, index, k > 0});
          continue;
        }
        if (!run.empty()) flush_run();
        if (k == 0) last_origin = index;
        finish_char(c, k == 0 ? index : last_origin, fc);
        continue;
      }
      finish_char(c, index, fc);
    }
    if (isolate) sink.space(index);
  }
  if (!run.empty()) flush_run();
}

void Tokenizer::Impl::build_normalized_added() {
  normalized_added.clear();
  for (const auto& a : added) {
    if (!a.normalized) continue;
    NormalizedAdded n;
    n.id = a.id;
    std::vector<uint32_t> origins;
    CollectSink collect{n.pattern, origins};
    normalize(a.content.data(), 0, a.content.size(), 0, collect);
    if (!n.pattern.empty()) normalized_added.push_back(std::move(n));
  }
}

// Normalizes, pre-tokenizes and WordPiece-tokenizes text[begin, end).
void Tokenizer::Impl::encode_segment(const char* text, size_t begin, size_t end, uint32_t first_char,
                                     Pieces& out) const {
  if (model == Model::kBpe) {
    encode_segment_bpe(text, begin, end, first_char, out);
    return;
  }
  Scratch& s = scratch();
  if (normalized_added.empty()) {
    WordSink sink(*this, s, out);
    normalize(text, begin, end, first_char, sink);
    sink.flush();
    return;
  }
  // Added tokens with normalized=true are matched in the normalized text (leftmost, longest).
  std::vector<uint32_t> cps, origins;
  CollectSink collect{cps, origins};
  normalize(text, begin, end, first_char, collect);
  WordSink sink(*this, s, out);
  for (size_t i = 0; i < cps.size();) {
    const NormalizedAdded* match = nullptr;
    for (const auto& a : normalized_added) {
      if (a.pattern.size() <= cps.size() - i &&
          std::equal(a.pattern.begin(), a.pattern.end(), cps.begin() + static_cast<std::ptrdiff_t>(i)) &&
          (!match || a.pattern.size() > match->pattern.size()))
        match = &a;
    }
    if (!match) {
      sink.any(cps[i], origins[i]);
      ++i;
      continue;
    }
    sink.flush();
    const size_t last = i + match->pattern.size() - 1;
    out.ids.push_back(match->id);
    out.offsets.push_back({origins[i], origins[last] + 1});
    i = last + 1;
  }
  sink.flush();
}

}  // namespace maum

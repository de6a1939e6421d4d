// WordPiece tokenizer matching Hugging Face `tokenizers` (BertNormalizer, BertPreTokenizer,
// WordPiece, TemplateProcessing) id for id and offset for offset.
//
// One pass per text: added tokens are cut out of the raw text first (as HF's AddedVocabulary does),
// then each remaining segment is normalized code point by code point, split into words on
// whitespace and punctuation, and each word goes through greedy longest-match WordPiece. Every
// normalized character remembers the original code point it came from (HF's alignments), which
// gives the offsets in code points directly.
#include "maum/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <thread>

#include "maum/error.h"
#include "tokenizer/src/utf8.h"
#include "tokenizer/src/tokenizer_impl.h"

namespace maum {

using tokenizer_detail::char_flags;
using tokenizer_detail::is_word_char;

namespace {

// Whether the code point ending at data[end) is a word character (valid UTF-8, end > 0).
bool ends_with_word_char(const char* data, size_t end) {
  size_t prev = end - 1;
  while (prev > 0 && (static_cast<uint8_t>(data[prev]) & 0xC0) == 0x80) --prev;
  const uint8_t* q = reinterpret_cast<const uint8_t*>(data) + prev;
  return is_word_char(*q < 0x80 ? *q : tokenizer_detail::decode_valid_utf8(q));
}

bool starts_with_word_char(const char* data, size_t) {
  const uint8_t* q = reinterpret_cast<const uint8_t*>(data);
  return is_word_char(*q < 0x80 ? *q : tokenizer_detail::decode_valid_utf8(q));
}

}  // namespace

void Tokenizer::Impl::encode_sequence(std::string_view input, InvalidUtf8 mode, Pieces& out) const {
  out.ids.clear();
  out.offsets.clear();
  // Offsets are 32-bit code point indices.
  if (input.size() >= (size_t{1} << 31)) throw InvalidArgument("text is too long (2 GiB or more)");
  std::string_view text = input;
  size_t bad = tokenizer_detail::first_invalid_utf8(input.data(), input.size());
  if (bad != input.size()) {
    if (mode == InvalidUtf8::kError)
      throw InvalidArgument("text is not valid UTF-8 (invalid byte 0x" +
                            [&] { char b[3]; std::snprintf(b, sizeof b, "%02X", static_cast<uint8_t>(input[bad])); return std::string(b); }() +
                            " at byte offset " + std::to_string(bad) + ")");
    std::string& repaired = scratch().repaired;
    tokenizer_detail::replace_invalid_utf8(input.data(), input.size(), repaired);
    text = repaired;
  }
  const char* data = text.data();
  const size_t size = text.size();
  // Split on added tokens (leftmost, then longest), matched on the raw text.
  size_t segment_begin = 0;
  uint32_t segment_char = 0;  // code point index of segment_begin
  size_t i = 0;
  uint32_t char_index = 0;
  if (!added.empty()) {
    while (i < size) {
      const uint8_t b = static_cast<uint8_t>(data[i]);
      if (first_byte_starts_added[b]) {
        const AddedToken* match = nullptr;
        for (size_t k : raw_match_order) {
          const AddedToken& a = added[k];
          if (a.normalized) continue;
          if (a.content.size() <= size - i && std::memcmp(data + i, a.content.data(), a.content.size()) == 0) {
            match = &a;
            break;
          }
        }
        if (match) {
          size_t start = i, stop = i + match->content.size();
          uint32_t start_char = char_index;
          const uint32_t match_chars = tokenizer_detail::count_chars(data + i, match->content.size());
          if (match->single_word && ((i > 0 && ends_with_word_char(data, i)) ||
                                     (stop < size && starts_with_word_char(data + stop, size - stop)))) {
            // Not a whole word: HF skips this match and searches on after it.
            char_index += match_chars;
            i = stop;
            continue;
          }
          if (match->lstrip) {
            // Spaces before the token belong to it (but not those an earlier token took).
            while (start > segment_begin) {
              size_t prev = start - 1;
              while (prev > segment_begin && (static_cast<uint8_t>(data[prev]) & 0xC0) == 0x80) --prev;
              const uint8_t* q = reinterpret_cast<const uint8_t*>(data) + prev;
              const uint32_t cp = *q < 0x80 ? *q : tokenizer_detail::decode_valid_utf8(q);
              if (!(char_flags(cp) & tokenizer_detail::kWhitespace)) break;
              start = prev;
              --start_char;
            }
          }
          uint32_t stop_char = char_index + match_chars;
          if (match->rstrip) {
            while (stop < size) {
              const uint8_t* q = reinterpret_cast<const uint8_t*>(data) + stop;
              const uint8_t* next = q;
              const uint32_t cp = *q < 0x80 ? *next++ : tokenizer_detail::decode_valid_utf8(next);
              if (!(char_flags(cp) & tokenizer_detail::kWhitespace)) break;
              stop += static_cast<size_t>(next - q);
              ++stop_char;
            }
          }
          if (start > segment_begin) encode_segment(data, segment_begin, start, segment_char, out);
          uint32_t first = start_char, last = stop_char;
          if (trim_offsets) {
            // HF trims the token's string, here the text it matched: spaces that lstrip/rstrip
            // took (and any "Ġ") are not part of its offsets.
            auto trimmed = [](uint32_t cp) { return cp == 0x120 || (char_flags(cp) & tokenizer_detail::kWhitespace); };
            uint32_t leading = 0, trailing = 0;
            std::vector<uint32_t> cps;
            for (const uint8_t* q = reinterpret_cast<const uint8_t*>(data) + start;
                 q < reinterpret_cast<const uint8_t*>(data) + stop;)
              cps.push_back(*q < 0x80 ? *q++ : tokenizer_detail::decode_valid_utf8(q));
            while (leading < cps.size() && trimmed(cps[leading])) ++leading;
            while (trailing < cps.size() && trimmed(cps[cps.size() - 1 - trailing])) ++trailing;
            trim_token_offsets(leading, trailing, out.ids.size(), first, last);
          }
          out.ids.push_back(match->id);
          out.offsets.push_back({first, last});
          char_index = stop_char;
          i = stop;
          segment_begin = i;
          segment_char = char_index;
          continue;
        }
      }
      if ((b & 0xC0) != 0x80) ++char_index;
      ++i;
      // Continuation bytes do not start a code point; the counter above skips them.
      while (i < size && (static_cast<uint8_t>(data[i]) & 0xC0) == 0x80) ++i;
    }
  }
  if (segment_begin < size) encode_segment(data, segment_begin, size, segment_char, out);
}

Encoding Tokenizer::encode(std::string_view text, const EncodeOptions& options) const {
  thread_local Pieces a;
  impl_->encode_sequence(text, options.invalid_utf8, a);
  return impl_->post_process(&a, nullptr, options);
}

Encoding Tokenizer::encode_pair(std::string_view first, std::string_view second,
                                const EncodeOptions& options) const {
  thread_local Pieces a, b;
  impl_->encode_sequence(first, options.invalid_utf8, a);
  impl_->encode_sequence(second, options.invalid_utf8, b);
  return impl_->post_process(&a, &b, options);
}

std::vector<Encoding> Tokenizer::encode_batch(const std::vector<std::string>& texts,
                                              const EncodeOptions& options, int threads) const {
  std::vector<Encoding> out(texts.size());
  size_t n_threads = threads > 0 ? static_cast<size_t>(threads)
                                 : std::max<size_t>(1, std::thread::hardware_concurrency());
  constexpr size_t kChunk = 64;
  n_threads = std::min(n_threads, (texts.size() + kChunk - 1) / kChunk);
  if (n_threads <= 1) {
    for (size_t i = 0; i < texts.size(); ++i) out[i] = encode(texts[i], options);
    return out;
  }
  std::atomic<size_t> next{0};
  std::vector<std::exception_ptr> errors(n_threads);
  auto work = [&](size_t t) {
    try {
      for (;;) {
        size_t begin = next.fetch_add(kChunk);
        if (begin >= texts.size()) break;
        size_t end = std::min(texts.size(), begin + kChunk);
        for (size_t i = begin; i < end; ++i) out[i] = encode(texts[i], options);
      }
    } catch (...) {
      errors[t] = std::current_exception();
      next.store(texts.size());
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < n_threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding and lookups

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  const Impl& m = *impl_;
  std::vector<std::string> tokens;
  for (int32_t id : ids) {
    const AddedToken* added = nullptr;
    for (const auto& a : m.added)
      if (a.id == id) added = &a;
    if (added) {
      if (skip_special_tokens && added->special) continue;
      tokens.push_back(added->content);
      continue;
    }
    if (id < 0 || static_cast<size_t>(id) >= m.id_to_token.size() || m.id_to_token[id].empty())
      continue;  // HF drops ids it cannot map
    tokens.push_back(m.id_to_token[id]);
  }
  if (m.model == Impl::Model::kBpe) {
    // ByteLevel decoder: each character of a token stands for a byte (others are kept as they
    // are); the bytes are read as UTF-8, invalid sequences replaced.
    std::string bytes;
    for (const auto& t : tokens) {
      const uint8_t* p = reinterpret_cast<const uint8_t*>(t.data());
      const uint8_t* e = p + t.size();
      while (p < e) {
        const uint32_t cp = *p < 0x80 ? *p++ : tokenizer_detail::decode_valid_utf8(p);
        const int b = tokenizer_detail::unicode_to_byte(cp);
        if (b >= 0) bytes.push_back(static_cast<char>(b));
        else append_utf8(bytes, cp);
      }
    }
    return replace_invalid_utf8(bytes);
  }
  auto replace_all = [](std::string& s, const std::string& from, const std::string& to) {
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
      s.replace(pos, from.size(), to);
  };
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string t = tokens[i];
    if (i != 0) {
      if (!m.decoder_prefix.empty() && t.compare(0, m.decoder_prefix.size(), m.decoder_prefix) == 0)
        t.erase(0, m.decoder_prefix.size());
      else
        t = " " + t;
    }
    if (m.decoder_cleanup) {
      replace_all(t, " .", ".");
      replace_all(t, " ?", "?");
      replace_all(t, " !", "!");
      replace_all(t, " ,", ",");
      replace_all(t, " ' ", "'");
      replace_all(t, " n't", "n't");
      replace_all(t, " 'm", "'m");
      replace_all(t, " do not", " don't");
      replace_all(t, " 's", "'s");
      replace_all(t, " 've", "'ve");
      replace_all(t, " 're", "'re");
    }
    out += t;
  }
  return out;
}

size_t Tokenizer::vocab_size() const {
  size_t n = impl_->id_to_token.size();
  for (const auto& a : impl_->added) n = std::max(n, static_cast<size_t>(a.id) + 1);
  return n;
}

int32_t Tokenizer::token_to_id(std::string_view token) const { return impl_->lookup(token); }

std::string Tokenizer::id_to_token(int32_t id) const {
  for (const auto& a : impl_->added)
    if (a.id == id) return a.content;
  if (id < 0 || static_cast<size_t>(id) >= impl_->id_to_token.size())
    throw InvalidArgument("token id " + std::to_string(id) + " is out of range (vocabulary of " +
                          std::to_string(impl_->id_to_token.size()) + ")");
  return impl_->id_to_token[id];
}

int32_t Tokenizer::cls_id() const { return impl_->cls; }
int32_t Tokenizer::sep_id() const { return impl_->sep; }
int32_t Tokenizer::pad_id() const { return impl_->pad; }
int32_t Tokenizer::unk_id() const { return impl_->unk_id; }

std::string replace_invalid_utf8(const std::string& text) {
  if (tokenizer_detail::utf8_valid(text.data(), text.size())) return text;
  std::string out;
  tokenizer_detail::replace_invalid_utf8(text.data(), text.size(), out);
  return out;
}

}  // namespace maum

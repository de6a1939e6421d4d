// Internal to the tokenizer module: the state shared by its source files (Tokenizer::Impl), the
// per-thread scratch buffers and the pre-tokenizer sinks.
//   tokenizer.cpp     public API, input checks, added-token split of the raw text, batching, decode
//   load.cpp          tokenizer.json / vocab.txt + tokenizer_config.json loading, serialize()
//   normalizer.cpp    BertNormalizer (+ normalized added tokens) feeding the pre-tokenizer
//   wordpiece.cpp     WordPiece
//   post_process.cpp  specials (templates), pairs, truncation, padding
//   bpe.cpp           byte-level BPE model (merges, merge cache)
//   byte_level.cpp    ByteLevel pre-tokenizer (GPT-2 regex), BPE segments, offsets and trim_offsets
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "maum/tokenizer.h"
#include "tokenizer/src/bpe.h"
#include "tokenizer/src/char_classes.h"
#include "tokenizer/src/tokenizer_json.h"
#include "tokenizer/src/vocab_table.h"

namespace maum {
namespace tokenizer_detail {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = true;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// One element of a TemplateProcessing template: a special token or sequence A/B.
struct TemplatePiece {
  bool is_sequence = false;
  int sequence = 0;  // 0: A, 1: B
  std::string special;  // key into special_tokens
  int32_t type_id = 0;
};

struct SpecialTokenIds {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
};

// Per-thread buffers reused across encode calls.
struct Scratch {
  std::string word;                      // normalized word, UTF-8
  std::vector<uint32_t> char_byte;       // byte offset of each char of `word` (+ end)
  std::vector<uint32_t> char_origin;     // original code point index of each char of `word`
  std::string repaired;                  // input with invalid UTF-8 replaced
  // Byte-level BPE: the segment's code points and their origins, one split's copy (with the
  // prefix space), a piece's bytes with each byte's origin, the merged tokens.
  std::vector<uint32_t> cps, origins, split_cps, split_origins, byte_origin;
  std::string piece;
  std::vector<BpeToken> bpe_tokens;
};

inline Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

inline void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Tokens of one sequence before post-processing.
struct Pieces {
  std::vector<int32_t> ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
};

}  // namespace tokenizer_detail

using tokenizer_detail::AddedToken;
using tokenizer_detail::Pieces;
using tokenizer_detail::Scratch;
using tokenizer_detail::SpecialTokenIds;
using tokenizer_detail::TemplatePiece;
using tokenizer_detail::VocabTable;
using tokenizer_detail::scratch;
using tokenizer_detail::append_utf8;

struct Tokenizer::Impl {
  enum class Model { kWordPiece, kBpe };
  Model model = Model::kWordPiece;

  // Normalizer (BertNormalizer).
  bool has_normalizer = true;
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = false;
  bool lowercase = false;
  nlohmann::json strip_accents_config;  // as given (null: follows lowercase), kept for serialize()

  // Model (WordPiece).
  VocabTable vocab;       // every token
  VocabTable continuing;  // tokens that start with the prefix, keyed without it
  std::vector<std::string> id_to_token;  // empty string for ids not in the vocab
  std::string unk_token = "[UNK]";
  int32_t unk_id = -1;
  std::string prefix = "##";
  size_t max_input_chars_per_word = 100;

  // Added tokens, matched on the raw text (normalized=false) or the normalized text.
  std::vector<AddedToken> added;
  std::vector<size_t> raw_match_order;  // indices into `added`, longest content first
  bool first_byte_starts_added[256] = {};

  // Byte-level BPE (model.type "BPE" with the ByteLevel pre-tokenizer).
  tokenizer_detail::BpeModel bpe;
  std::string bpe_unk_token;            // empty: none (RoBERTa's)
  bool add_prefix_space = false;        // ByteLevel pre-tokenizer
  bool use_regex = true;
  bool trim_offsets = false;            // RobertaProcessing / ByteLevel post-processor
  bool post_add_prefix_space = false;   // the post-processor's own flag (its trim rule uses it)
  bool roberta_processing = false;      // post-processor written back as RobertaProcessing

  // Post-processor (TemplateProcessing).
  std::vector<TemplatePiece> single_template;
  std::vector<TemplatePiece> pair_template;
  std::vector<std::pair<std::string, SpecialTokenIds>> special_tokens;

  // Decoder (WordPiece).
  std::string decoder_prefix = "##";
  bool decoder_cleanup = true;

  // Well-known specials (from the vocab / config).
  int32_t cls = -1, sep = -1, pad = -1;
  std::string pad_token = "[PAD]";

  void finish();
  void load_tokenizer_json(const tokenizer_detail::TokenizerJson& parsed, const std::string& where);
  nlohmann::json to_tokenizer_json() const;

  int32_t lookup(std::string_view token) const {
    for (const auto& a : added)
      if (a.content == token) return a.id;
    return vocab.find(token.data(), token.size());
  }
  const SpecialTokenIds* special(const std::string& key) const {
    for (const auto& s : special_tokens)
      if (s.first == key) return &s.second;
    return nullptr;
  }
  size_t added_count(bool pair) const {
    size_t n = 0;
    for (const auto& p : pair ? pair_template : single_template)
      if (!p.is_sequence) {
        const SpecialTokenIds* s = special(p.special);
        n += s ? s->ids.size() : 0;
      }
    return n;
  }

  void encode_sequence(std::string_view text, InvalidUtf8 mode, Pieces& out) const;
  void encode_segment(const char* text, size_t begin, size_t end, uint32_t first_char,
                      Pieces& out) const;
  class WordSink;
  struct CollectSink;
  template <typename Sink>
  void normalize(const char* text, size_t begin, size_t end, uint32_t first_char, Sink& sink) const;
  // Added tokens with normalized=true, as the normalizer turns their content.
  struct NormalizedAdded {
    std::vector<uint32_t> pattern;
    int32_t id;
  };
  std::vector<NormalizedAdded> normalized_added;
  void build_normalized_added();
  void wordpiece(Scratch& s, Pieces& out) const;
  // trim_offsets of RobertaProcessing / ByteLevel (HF's process_offsets) on the offsets of the
  // index-th token of a sequence whose string has `leading` / `trailing` spaces ("Ġ" or
  // whitespace), in code points.
  void trim_token_offsets(uint32_t leading, uint32_t trailing, size_t index, uint32_t& start,
                          uint32_t& end) const {
    if (leading > 0) {
      if ((index == 0 || start == 0) && post_add_prefix_space && leading == 1) leading = 0;
      start = std::min(start + leading, end);
    }
    if (trailing > 0 && end >= trailing) end = std::max(end - trailing, start);
  }
  void encode_segment_bpe(const char* text, size_t begin, size_t end, uint32_t first_char,
                          Pieces& out) const;
  void byte_level_split(const uint32_t* cps, const uint32_t* origins, size_t n, Pieces& out) const;
  void byte_level_piece(const uint32_t* cps, const uint32_t* origins, size_t n, Pieces& out) const;
  Encoding post_process(Pieces* a, Pieces* b, const EncodeOptions& options) const;
};

// Pre-tokenizer sink: collects normalized code points into words (split on whitespace, each
// punctuation character a word of its own) and runs WordPiece on each finished word.
class Tokenizer::Impl::WordSink {
 public:
  WordSink(const Impl& impl, Scratch& s, Pieces& out) : impl_(impl), s_(s), out_(out) {
    s_.word.clear();
    s_.char_byte.clear();
    s_.char_origin.clear();
  }
  // A character known to be neither whitespace nor punctuation.
  void letter(uint32_t cp, uint32_t origin) {
    s_.char_byte.push_back(static_cast<uint32_t>(s_.word.size()));
    s_.char_origin.push_back(origin);
    tokenizer_detail::append_utf8(s_.word, cp);
  }
  void ascii_letter(char c, uint32_t origin) {
    s_.char_byte.push_back(static_cast<uint32_t>(s_.word.size()));
    s_.char_origin.push_back(origin);
    s_.word.push_back(c);
  }
  void any(uint32_t cp, uint32_t origin) {
    const uint8_t f = tokenizer_detail::char_flags(cp);
    if (f & tokenizer_detail::kWhitespace) {
      flush();
    } else if (f & tokenizer_detail::kPunctuation) {
      flush();
      letter(cp, origin);
      flush();
    } else {
      letter(cp, origin);
    }
  }
  void space(uint32_t) { flush(); }
  void flush() {
    if (s_.char_origin.empty()) return;
    s_.char_byte.push_back(static_cast<uint32_t>(s_.word.size()));
    impl_.wordpiece(s_, out_);
    s_.word.clear();
    s_.char_byte.clear();
    s_.char_origin.clear();
  }

 private:
  const Impl& impl_;
  Scratch& s_;
  Pieces& out_;
};

// Collects the normalized text (with HF's inserted spaces) for matching normalized added tokens.
struct Tokenizer::Impl::CollectSink {
  std::vector<uint32_t>& cps;
  std::vector<uint32_t>& origins;
  void letter(uint32_t cp, uint32_t origin) { cps.push_back(cp); origins.push_back(origin); }
  void ascii_letter(char c, uint32_t origin) { letter(static_cast<uint8_t>(c), origin); }
  void any(uint32_t cp, uint32_t origin) { letter(cp, origin); }
  void space(uint32_t origin) { letter(' ', origin); }
  void flush() {}
};

}  // namespace maum

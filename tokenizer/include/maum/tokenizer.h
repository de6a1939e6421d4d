// Tokenizer that gives the same ids, type ids and offsets as Hugging Face `tokenizers` on every
// input: WordPiece (BertNormalizer + BertPreTokenizer + WordPiece + BERT post-processing) or
// byte-level BPE (ByteLevel + BPE + RobertaProcessing, as RoBERTa), whichever the files describe.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace maum {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;
  // [begin, end) into the original text, in Unicode code points (as HF's Python/node bindings
  // report them); [0, 0] for special and padding tokens.
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
  // 1 for real tokens and specials, 0 for padding.
  std::vector<uint8_t> attention_mask;
};

enum class InvalidUtf8 {
  kError,    // throw maum::InvalidArgument naming the byte offset
  kReplace,  // replace each maximal invalid subsequence with U+FFFD (as Python's errors="replace")
};

// text with the kReplace rule applied (unchanged if it is valid UTF-8): for callers that also
// keep or print the text they tokenize with kReplace.
std::string replace_invalid_utf8(const std::string& text);

struct EncodeOptions {
  size_t max_length = 0;          // 0: no truncation; else truncate (longest_first for pairs);
                                  // below the special-token count: InvalidArgument (as HF)
  bool add_special_tokens = true; // [CLS] A [SEP] ( B [SEP] )
  size_t pad_to_length = 0;       // 0: no padding; else pad with [PAD] up to this length
  InvalidUtf8 invalid_utf8 = InvalidUtf8::kError;
};

class Tokenizer {
 public:
  // Loads tokenizer.json when the folder has one; otherwise vocab.txt + tokenizer_config.json
  // (+ special_tokens_map.json), or else vocab.json + merges.txt + tokenizer_config.json (byte-level
  // BPE), building the tokenizer transformers would build from them.
  // Throws maum::IoError / maum::FormatError.
  static Tokenizer from_dir(const std::string& dir);
  // Restores a tokenizer from serialize()'s output (what a converted model file embeds).
  static Tokenizer from_serialized(std::string_view serialized);
  // The tokenizer embedded in a converted maum model file (docs/FORMAT.md), without loading its
  // weights. Throws maum::IoError / maum::FormatError naming the file.
  static Tokenizer from_model_file(const std::string& path);
  // A self-contained description (a tokenizer.json: vocab, merges for BPE, normalizer /
  // pre-tokenizer flags, special and added tokens).
  std::string serialize() const;

  Encoding encode(std::string_view text, const EncodeOptions& options = {}) const;
  Encoding encode_pair(std::string_view first, std::string_view second,
                       const EncodeOptions& options = {}) const;
  // Encodes in parallel on `threads` threads (0: hardware concurrency); output in input order.
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts,
                                     const EncodeOptions& options = {}, int threads = 1) const;
  // Joins tokens as HF's decoder does: WordPiece ("##" pieces glued to the previous token) or
  // ByteLevel (the tokens' bytes, as UTF-8).
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = true) const;

  size_t vocab_size() const;
  int32_t token_to_id(std::string_view token) const;  // -1 if absent
  std::string id_to_token(int32_t id) const;          // throws InvalidArgument if out of range
  int32_t cls_id() const;
  int32_t sep_id() const;
  int32_t pad_id() const;
  int32_t unk_id() const;

  Tokenizer(const Tokenizer&) = default;
  Tokenizer& operator=(const Tokenizer&) = default;
  ~Tokenizer();

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;
};

}  // namespace maum

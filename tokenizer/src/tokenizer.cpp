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
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <unordered_set>

#include <nlohmann/json.hpp>
#include <utf8proc.h>

#include "core/src/model_format.h"
#include "maum/error.h"
#include "core/src/files.h"
#include "tokenizer/src/char_classes.h"
#include "tokenizer/src/utf8.h"
#include "tokenizer/src/vocab_table.h"

namespace maum {

using tokenizer_detail::char_flags;
using tokenizer_detail::VocabTable;
using json = nlohmann::json;

namespace {

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
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

void append_utf8(std::string& out, uint32_t cp) {
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

// Regex \w as HF's single_word check uses it: letters, marks, digits, connector punctuation.
bool is_word_char(uint32_t cp) {
  if (cp == 0x200C || cp == 0x200D) return true;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_PC:
      return true;
    default:
      return false;
  }
}

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

// Tokens of one sequence before post-processing.
struct Pieces {
  std::vector<int32_t> ids;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;
};


bool file_exists(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return static_cast<bool>(in);
}

// A token field in tokenizer_config.json / special_tokens_map.json: "x" or {"content": "x", ...}.
std::string token_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return {};
}

}  // namespace

struct Tokenizer::Impl {
  // Normalizer (BertNormalizer).
  bool has_normalizer = true;
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool strip_accents = false;
  bool lowercase = false;
  json strip_accents_config;  // as given (null: follows lowercase), kept for serialize()

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
  void load_tokenizer_json(const json& j, const std::string& where);
  json to_tokenizer_json() const;

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
  Encoding post_process(Pieces* a, Pieces* b, const EncodeOptions& options) const;
};

// ---------------------------------------------------------------------------------------------
// Loading

void Tokenizer::Impl::load_tokenizer_json(const json& j, const std::string& where) {
  auto fail = [&](const std::string& what) { throw FormatError(where + ": " + what); };
  if (!j.is_object()) fail("not a JSON object");
  // Typed reads of optional fields: a value of the wrong type is a FormatError naming the field
  // (never a JSON library exception), an id must fit in [0, 2^31) (2^32 + 2 does not wrap to 2).
  auto opt = [&](const json& obj, const char* key) -> const json* {
    if (!obj.is_object()) return nullptr;
    auto it = obj.find(key);
    return it == obj.end() || it->is_null() ? nullptr : &*it;
  };
  auto opt_bool = [&](const json& obj, const char* key, bool fallback, const std::string& field) {
    const json* v = opt(obj, key);
    if (v && !v->is_boolean()) fail(field + " must be true or false");
    return v ? v->get<bool>() : fallback;
  };
  auto opt_string = [&](const json& obj, const char* key, const std::string& fallback, const std::string& field) {
    const json* v = opt(obj, key);
    if (v && !v->is_string()) fail(field + " must be a string");
    return v ? v->get<std::string>() : fallback;
  };
  auto id_of = [&](const json& v, const std::string& field) -> int32_t {
    if (!v.is_number_integer() || (v.is_number_unsigned() ? v.get<uint64_t>() > INT32_MAX
                                                          : (v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)))
      fail(field + " must be an integer in [0, 2147483647]");
    return static_cast<int32_t>(v.get<int64_t>());
  };
  auto opt_id = [&](const json& obj, const char* key, int32_t fallback, const std::string& field) {
    const json* v = opt(obj, key);
    return v ? id_of(*v, field) : fallback;
  };

  // Model.
  if (!j.contains("model") || !j["model"].is_object()) fail("missing \"model\"");
  const json& model = j["model"];
  const std::string model_type = opt_string(model, "type", "WordPiece", "model.type");
  if (model_type != "WordPiece") fail("model type \"" + model_type + "\" is not supported (WordPiece only)");
  if (!model.contains("vocab") || !model["vocab"].is_object()) fail("model.vocab missing or not an object");
  unk_token = opt_string(model, "unk_token", unk_token, "model.unk_token");
  prefix = opt_string(model, "continuing_subword_prefix", prefix, "model.continuing_subword_prefix");
  max_input_chars_per_word = static_cast<size_t>(
      opt_id(model, "max_input_chars_per_word", static_cast<int32_t>(std::min<size_t>(max_input_chars_per_word, INT32_MAX)),
             "model.max_input_chars_per_word"));
  int64_t max_id = -1;
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX)
      fail("model.vocab[\"" + token + "\"] is not a valid id");
    max_id = std::max<int64_t>(max_id, id.get<int64_t>());
  }
  if (max_id > 50'000'000) fail("model.vocab ids are implausibly large");
  id_to_token.assign(static_cast<size_t>(max_id + 1), std::string());
  for (const auto& [token, id] : model["vocab"].items()) {
    int32_t i = id.get<int32_t>();
    if (!tokenizer_detail::utf8_valid(token.data(), token.size()))
      fail("model.vocab has a token that is not UTF-8");
    id_to_token[i] = token;
    vocab.insert(token, i);
  }

  // Normalizer.
  const json& norm = j.contains("normalizer") ? j["normalizer"] : json();
  if (norm.is_null()) {
    has_normalizer = false;
    clean_text = handle_chinese_chars = strip_accents = lowercase = false;
  } else {
    if (!norm.is_object() || opt_string(norm, "type", "", "normalizer.type") != "BertNormalizer")
      fail("normalizer type is not supported (BertNormalizer only)");
    clean_text = opt_bool(norm, "clean_text", true, "normalizer.clean_text");
    handle_chinese_chars = opt_bool(norm, "handle_chinese_chars", true, "normalizer.handle_chinese_chars");
    lowercase = opt_bool(norm, "lowercase", true, "normalizer.lowercase");
    strip_accents_config = norm.contains("strip_accents") ? norm["strip_accents"] : json();
    if (!strip_accents_config.is_null() && !strip_accents_config.is_boolean())
      fail("normalizer.strip_accents must be a boolean or null");
    strip_accents = strip_accents_config.is_null() ? lowercase : strip_accents_config.get<bool>();
  }

  // Pre-tokenizer.
  const json& pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json();
  if (!pre.is_object() || opt_string(pre, "type", "", "pre_tokenizer.type") != "BertPreTokenizer")
    fail("pre_tokenizer is not supported (BertPreTokenizer only)");

  // Added tokens.
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const json& t : j["added_tokens"]) {
      if (!t.is_object() || !t.contains("content") || !t["content"].is_string())
        fail("added_tokens entry without a string \"content\"");
      AddedToken a;
      a.content = t["content"];
      if (a.content.empty() || !tokenizer_detail::utf8_valid(a.content.data(), a.content.size())) continue;
      const std::string field = "added_tokens[\"" + a.content + "\"]";
      a.special = opt_bool(t, "special", false, field + ".special");
      a.single_word = opt_bool(t, "single_word", false, field + ".single_word");
      a.lstrip = opt_bool(t, "lstrip", false, field + ".lstrip");
      a.rstrip = opt_bool(t, "rstrip", false, field + ".rstrip");
      a.normalized = opt_bool(t, "normalized", !a.special, field + ".normalized");
      int32_t in_vocab = vocab.find(a.content.data(), a.content.size());
      if (in_vocab >= 0) {
        a.id = in_vocab;
      } else if (opt(t, "id")) {
        a.id = id_of(t["id"], field + ".id");
      } else {
        fail("added token \"" + a.content + "\" has no id");
      }
      bool duplicate = false;
      for (auto& prev : added)
        if (prev.content == a.content) { prev = a; duplicate = true; }
      if (!duplicate) added.push_back(a);
    }
  }

  // Post-processor.
  const json& post = j.contains("post_processor") ? j["post_processor"] : json();
  auto add_special = [&](const std::string& key, std::vector<int32_t> ids, std::vector<std::string> toks) {
    special_tokens.push_back({key, SpecialTokenIds{std::move(ids), std::move(toks)}});
  };
  const std::string post_type = opt_string(post, "type", "", "post_processor.type");
  if (post.is_object() && post_type == "TemplateProcessing") {
    if (post.contains("special_tokens") && post["special_tokens"].is_object()) {
      for (const auto& [key, st] : post["special_tokens"].items()) {
        const std::string field = "post_processor.special_tokens[\"" + key + "\"]";
        if (!st.is_object()) fail(field + " must be an object");
        SpecialTokenIds s;
        if (st.contains("tokens") && st["tokens"].is_array())
          for (const auto& t : st["tokens"]) {
            if (!t.is_string()) fail(field + ".tokens must be strings");
            s.tokens.push_back(t.get<std::string>());
          }
        if (st.contains("ids") && st["ids"].is_array())
          for (const auto& i : st["ids"]) s.ids.push_back(id_of(i, field + ".ids"));
        if (s.ids.empty()) fail("post_processor.special_tokens[\"" + key + "\"] has no ids");
        add_special(key, std::move(s.ids), std::move(s.tokens));
      }
    }
    auto parse_template = [&](const char* name, std::vector<TemplatePiece>& out) {
      if (!post.contains(name) || !post[name].is_array()) fail(std::string("post_processor.") + name + " missing");
      const std::string field = std::string("post_processor.") + name;
      for (const json& p : post[name]) {
        TemplatePiece piece;
        if (p.is_object() && p.contains("SpecialToken")) {
          const json& s = p["SpecialToken"];
          piece.special = opt_string(s, "id", "", field + ".SpecialToken.id");
          piece.type_id = opt_id(s, "type_id", 0, field + ".SpecialToken.type_id");
          if (!special(piece.special)) fail("post_processor special token \"" + piece.special + "\" not defined");
        } else if (p.is_object() && p.contains("Sequence")) {
          const json& s = p["Sequence"];
          piece.is_sequence = true;
          piece.sequence = opt_string(s, "id", "A", field + ".Sequence.id") == "B" ? 1 : 0;
          piece.type_id = opt_id(s, "type_id", 0, field + ".Sequence.type_id");
        } else {
          fail(std::string("post_processor.") + name + " has an unknown piece");
        }
        out.push_back(piece);
      }
    };
    parse_template("single", single_template);
    parse_template("pair", pair_template);
  } else if (post.is_object() && post_type == "BertProcessing") {
    auto pair_of = [&](const char* name) -> std::pair<std::string, int32_t> {
      const json* v = opt(post, name);
      if (!v || !v->is_array() || v->size() != 2 || !(*v)[0].is_string())
        fail(std::string("post_processor.") + name + " must be [token, id]");
      return {(*v)[0].get<std::string>(), id_of((*v)[1], std::string("post_processor.") + name + "[1]")};
    };
    auto c = pair_of("cls"), s = pair_of("sep");
    add_special(c.first, {c.second}, {c.first});
    if (s.first != c.first) add_special(s.first, {s.second}, {s.first});
    auto sp = [](const std::string& k, int32_t t) { TemplatePiece p; p.special = k; p.type_id = t; return p; };
    auto seq = [](int which, int32_t t) { TemplatePiece p; p.is_sequence = true; p.sequence = which; p.type_id = t; return p; };
    single_template = {sp(c.first, 0), seq(0, 0), sp(s.first, 0)};
    pair_template = {sp(c.first, 0), seq(0, 0), sp(s.first, 0), seq(1, 1), sp(s.first, 1)};
  } else if (post.is_null()) {
    TemplatePiece a; a.is_sequence = true; a.sequence = 0;
    TemplatePiece b; b.is_sequence = true; b.sequence = 1; b.type_id = 1;
    single_template = {a};
    pair_template = {a, b};
  } else {
    fail("post_processor is not supported (TemplateProcessing or BertProcessing)");
  }

  // Decoder.
  const json& dec = j.contains("decoder") ? j["decoder"] : json();
  if (dec.is_object() && opt_string(dec, "type", "", "decoder.type") == "WordPiece") {
    decoder_prefix = opt_string(dec, "prefix", "##", "decoder.prefix");
    decoder_cleanup = opt_bool(dec, "cleanup", true, "decoder.cleanup");
  }

  // Padding token (only used when the caller asks for padding).
  if (j.contains("padding") && j["padding"].is_object() && j["padding"].contains("pad_token") &&
      j["padding"]["pad_token"].is_string())
    pad_token = j["padding"]["pad_token"];
}

void Tokenizer::Impl::finish() {
  for (size_t i = 0; i < id_to_token.size(); ++i) {
    const std::string& t = id_to_token[i];
    if (t.size() > prefix.size() && !prefix.empty() && t.compare(0, prefix.size(), prefix) == 0)
      continuing.insert(std::string_view(t).substr(prefix.size()), static_cast<int32_t>(i));
  }
  unk_id = vocab.find(unk_token.data(), unk_token.size());
  for (const auto& a : added)
    if (a.content == unk_token) unk_id = a.id;
  if (unk_id < 0) throw FormatError("tokenizer: unk_token \"" + unk_token + "\" is not in the vocabulary");
  // Every id the tokenizer can emit must index the embedding table.
  size_t n_ids = id_to_token.size();
  for (const auto& a : added) n_ids = std::max(n_ids, static_cast<size_t>(a.id) + 1);
  for (const auto& [key, st] : special_tokens)
    for (int32_t id : st.ids)
      if (id < 0 || static_cast<size_t>(id) >= n_ids)
        throw FormatError("tokenizer: post_processor special token \"" + key + "\" has id " +
                          std::to_string(id) + " outside the vocabulary (" + std::to_string(n_ids) + ")");
  build_normalized_added();
  raw_match_order.clear();
  for (size_t i = 0; i < added.size(); ++i) {
    raw_match_order.push_back(i);
    first_byte_starts_added[static_cast<uint8_t>(added[i].content[0])] = true;
  }
  std::stable_sort(raw_match_order.begin(), raw_match_order.end(), [&](size_t x, size_t y) {
    return added[x].content.size() > added[y].content.size();
  });
  auto first_special_of = [&](bool last_in_single) -> int32_t {
    // [CLS] is the first special of the single template, [SEP] the last.
    const TemplatePiece* found = nullptr;
    for (const auto& p : single_template)
      if (!p.is_sequence) {
        if (!found || last_in_single) found = &p;
      }
    if (!found) return -1;
    const SpecialTokenIds* s = special(found->special);
    return s && !s->ids.empty() ? s->ids.front() : -1;
  };
  cls = first_special_of(false);
  sep = first_special_of(true);
  pad = lookup(pad_token);
}

Tokenizer::Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;

namespace {

// load_tokenizer_json + finish, with any JSON library error left unnamed by the typed reads still
// a FormatError (never an "internal error").
void load_checked(Tokenizer::Impl& impl, const json& j, const std::string& where) {
  try {
    impl.load_tokenizer_json(j, where);
  } catch (const json::exception& e) {
    throw FormatError(where + ": unexpected value: " + e.what());
  }
  impl.finish();
}

}  // namespace

Tokenizer Tokenizer::from_dir(const std::string& dir) {
  auto impl = std::make_shared<Impl>();
  const std::string tokenizer_json = dir + "/tokenizer.json";
  if (file_exists(tokenizer_json)) {
    json j = core::read_json_file(tokenizer_json);
    load_checked(*impl, j, tokenizer_json);
    return Tokenizer(impl);
  }

  // vocab.txt + tokenizer_config.json (+ special_tokens_map.json): build the tokenizer.json that
  // transformers' BertTokenizerFast conversion builds, then load it.
  const std::string vocab_path = dir + "/vocab.txt";
  if (!file_exists(vocab_path))
    throw IoError("no tokenizer.json or vocab.txt in " + dir);
  const std::string text = core::read_file(vocab_path);
  json vocab = json::object();
  std::unordered_set<std::string> seen;
  {
    // Python's text mode reads \n, \r\n and \r as line ends; a line's token is kept as is.
    size_t i = 0, index = 0;
    while (i < text.size()) {
      size_t end = i;
      while (end < text.size() && text[end] != '\n' && text[end] != '\r') ++end;
      std::string token = text.substr(i, end - i);
      if (!tokenizer_detail::utf8_valid(token.data(), token.size()))
        throw FormatError(vocab_path + ": line " + std::to_string(index + 1) + " is not UTF-8");
      if (seen.insert(token).second) vocab[token] = index;
      ++index;
      if (end < text.size() && text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n') ++end;
      i = end + 1;
    }
  }
  json config = json::object();
  const std::string config_path = dir + "/tokenizer_config.json";
  if (file_exists(config_path)) {
    config = core::read_json_file(config_path);
    if (!config.is_object()) throw FormatError(config_path + ": not a JSON object");
  }
  json special_map = json::object();
  const std::string map_path = dir + "/special_tokens_map.json";
  if (file_exists(map_path)) {
    special_map = core::read_json_file(map_path);
    if (!special_map.is_object()) special_map = json::object();
  }
  auto special_of = [&](const char* key, const char* fallback) {
    if (config.contains(key)) { std::string t = token_text(config[key]); if (!t.empty()) return t; }
    if (special_map.contains(key)) { std::string t = token_text(special_map[key]); if (!t.empty()) return t; }
    return std::string(fallback);
  };
  const bool lower = config.contains("do_lower_case") && config["do_lower_case"].is_boolean()
                         ? config["do_lower_case"].get<bool>() : true;
  const std::string unk = special_of("unk_token", "[UNK]"), cls = special_of("cls_token", "[CLS]"),
                    sep = special_of("sep_token", "[SEP]"), pad = special_of("pad_token", "[PAD]"),
                    mask = special_of("mask_token", "[MASK]");
  std::vector<std::string> specials = {pad, unk, cls, sep, mask};
  const json* extra = config.contains("additional_special_tokens") ? &config["additional_special_tokens"]
                      : special_map.contains("additional_special_tokens") ? &special_map["additional_special_tokens"]
                                                                          : nullptr;
  if (extra && extra->is_array())
    for (const auto& t : *extra) {
      std::string s = token_text(t);
      if (!s.empty()) specials.push_back(s);
    }
  std::vector<std::pair<int64_t, std::string>> present;
  for (const auto& s : specials) {
    if (!seen.count(s)) continue;
    bool seen = false;
    for (const auto& p : present) seen |= p.second == s;
    if (!seen) present.push_back({vocab[s].get<int64_t>(), s});
  }
  std::stable_sort(present.begin(), present.end());
  json added = json::array();
  for (const auto& [id, s] : present)
    added.push_back({{"id", id}, {"content", s}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  for (const auto& s : {cls, sep})
    if (!seen.count(s))
      throw FormatError(vocab_path + ": special token " + s + " is not in the vocabulary");
  json tj = {
      {"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added},
      {"normalizer",
       {{"type", "BertNormalizer"}, {"clean_text", true},
        {"handle_chinese_chars", config.contains("tokenize_chinese_chars") && config["tokenize_chinese_chars"].is_boolean()
                                     ? config["tokenize_chinese_chars"].get<bool>() : true},
        {"strip_accents", config.contains("strip_accents") && config["strip_accents"].is_boolean()
                              ? json(config["strip_accents"].get<bool>()) : json()},
        {"lowercase", lower}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", cls}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                    {{"SpecialToken", {{"id", sep}, {"type_id", 0}}}}}},
        {"pair", {{{"SpecialToken", {{"id", cls}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                  {{"SpecialToken", {{"id", sep}, {"type_id", 0}}}}, {{"Sequence", {{"id", "B"}, {"type_id", 1}}}},
                  {{"SpecialToken", {{"id", sep}, {"type_id", 1}}}}}},
        {"special_tokens",
         {{cls, {{"id", cls}, {"ids", {vocab[cls]}}, {"tokens", {cls}}}},
          {sep, {{"id", sep}, {"ids", {vocab[sep]}}, {"tokens", {sep}}}}}}}},
      {"decoder", {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}}},
      {"model",
       {{"type", "WordPiece"}, {"unk_token", unk}, {"continuing_subword_prefix", "##"},
        {"max_input_chars_per_word", 100}, {"vocab", vocab}}}};
  impl->load_tokenizer_json(json::parse(tj.dump()), vocab_path);
  impl->pad_token = pad;
  impl->finish();
  return Tokenizer(impl);
}

json Tokenizer::Impl::to_tokenizer_json() const {
  json added_json = json::array();
  for (const auto& a : added)
    added_json.push_back({{"id", a.id}, {"content", a.content}, {"single_word", a.single_word},
                          {"lstrip", a.lstrip}, {"rstrip", a.rstrip}, {"normalized", a.normalized},
                          {"special", a.special}});
  json normalizer;
  if (has_normalizer)
    normalizer = {{"type", "BertNormalizer"}, {"clean_text", clean_text},
                  {"handle_chinese_chars", handle_chinese_chars},
                  {"strip_accents", strip_accents_config}, {"lowercase", lowercase}};
  auto template_json = [&](const std::vector<TemplatePiece>& t) {
    json out = json::array();
    for (const auto& p : t) {
      if (p.is_sequence)
        out.push_back({{"Sequence", {{"id", p.sequence ? "B" : "A"}, {"type_id", p.type_id}}}});
      else
        out.push_back({{"SpecialToken", {{"id", p.special}, {"type_id", p.type_id}}}});
    }
    return out;
  };
  json specials = json::object();
  for (const auto& [key, s] : special_tokens)
    specials[key] = {{"id", key}, {"ids", s.ids}, {"tokens", s.tokens}};
  json vocab_json = json::object();
  for (size_t i = 0; i < id_to_token.size(); ++i)
    if (vocab.find(id_to_token[i].data(), id_to_token[i].size()) == static_cast<int32_t>(i))
      vocab_json[id_to_token[i]] = i;
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", {{"pad_token", pad_token}}},
          {"added_tokens", added_json},
          {"normalizer", normalizer},
          {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
          {"post_processor",
           {{"type", "TemplateProcessing"},
            {"single", template_json(single_template)},
            {"pair", template_json(pair_template)},
            {"special_tokens", specials}}},
          {"decoder", {{"type", "WordPiece"}, {"prefix", decoder_prefix}, {"cleanup", decoder_cleanup}}},
          {"model",
           {{"type", "WordPiece"}, {"unk_token", unk_token}, {"continuing_subword_prefix", prefix},
            {"max_input_chars_per_word", max_input_chars_per_word}, {"vocab", vocab_json}}}};
}

std::string Tokenizer::serialize() const { return impl_->to_tokenizer_json().dump(); }

Tokenizer Tokenizer::from_model_file(const std::string& path) {
  return format::parse_tokenizer(*format::open(path, core::Reading::kOnDemand), from_serialized);  // the header only
}

Tokenizer Tokenizer::from_serialized(std::string_view serialized) {
  json j;
  try {
    j = json::parse(serialized.begin(), serialized.end());
  } catch (const json::exception& e) {
    throw FormatError(std::string("serialized tokenizer: invalid JSON: ") + e.what());
  }
  auto impl = std::make_shared<Impl>();
  load_checked(*impl, j, "serialized tokenizer");
  return Tokenizer(impl);
}

// ---------------------------------------------------------------------------------------------
// Encoding

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
    append_utf8(s_.word, cp);
  }
  void ascii_letter(char c, uint32_t origin) {
    s_.char_byte.push_back(static_cast<uint32_t>(s_.word.size()));
    s_.char_origin.push_back(origin);
    s_.word.push_back(c);
  }
  void any(uint32_t cp, uint32_t origin) {
    const uint8_t f = char_flags(cp);
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
          out.ids.push_back(match->id);
          out.offsets.push_back({start_char, stop_char});
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

// Loading and serialisation: tokenizer.json, vocab.txt + tokenizer_config.json (+
// special_tokens_map.json) as transformers builds them, and the form a model file embeds.
#include <algorithm>
#include <fstream>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "core/src/files.h"
#include "core/src/model_format.h"
#include "maum/error.h"
#include "tokenizer/src/tokenizer_impl.h"
#include "tokenizer/src/tokenizer_json.h"
#include "tokenizer/src/utf8.h"

namespace maum {

using json = nlohmann::json;

namespace {

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

// Loading

void Tokenizer::Impl::load_tokenizer_json(const tokenizer_detail::TokenizerJson& parsed,
                                          const std::string& where) {
  const json& j = parsed.doc;
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
  if (model_type == "BPE") {
    this->model = Model::kBpe;
    pad_token = "<pad>";
  } else if (model_type != "WordPiece") {
    fail("model type \"" + model_type + "\" is not supported (WordPiece or BPE)");
  }
  if (!parsed.vocab) fail("model.vocab missing or not an object");
  if (this->model == Model::kWordPiece) {
    unk_token = opt_string(model, "unk_token", unk_token, "model.unk_token");
    prefix = opt_string(model, "continuing_subword_prefix", prefix, "model.continuing_subword_prefix");
    max_input_chars_per_word = static_cast<size_t>(
        opt_id(model, "max_input_chars_per_word", static_cast<int32_t>(std::min<size_t>(max_input_chars_per_word, INT32_MAX)),
               "model.max_input_chars_per_word"));
  } else {
    bpe_unk_token = opt_string(model, "unk_token", "", "model.unk_token");
    if (opt(model, "dropout")) fail("model.dropout is not supported (BPE dropout is random; use null)");
    if (!opt_string(model, "continuing_subword_prefix", "", "model.continuing_subword_prefix").empty() ||
        !opt_string(model, "end_of_word_suffix", "", "model.end_of_word_suffix").empty())
      fail("model.continuing_subword_prefix / end_of_word_suffix are not supported for BPE (byte-level BPE only)");
    if (opt_bool(model, "byte_fallback", false, "model.byte_fallback") ||
        opt_bool(model, "ignore_merges", false, "model.ignore_merges") ||
        opt_bool(model, "fuse_unk", false, "model.fuse_unk"))
      fail("model.byte_fallback / ignore_merges / fuse_unk are not supported (byte-level BPE only)");
  }
  // The entries in file order, last first: a token given twice keeps its last id, as in a JSON
  // object (the vocabulary keeps the first id it is given).
  std::vector<const std::pair<std::string, json>*> entries;
  entries.reserve(parsed.vocab->size());
  size_t key_bytes = 0;
  for (const auto& entry : *parsed.vocab) key_bytes += entry.first.size();
  vocab.reserve(parsed.vocab->size(), key_bytes);
  int64_t max_id = -1;
  for (auto it = parsed.vocab->rbegin(); it != parsed.vocab->rend(); ++it) {
    const auto& [token, id] = *it;
    const bool valid_id =
        id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() <= INT32_MAX;
    if (!vocab.insert(token, valid_id ? id.get<int32_t>() : 0)) continue;  // given again later
    if (!valid_id) fail("model.vocab[\"" + token + "\"] is not a valid id");
    if (!tokenizer_detail::utf8_valid(token.data(), token.size()))
      fail("model.vocab has a token that is not UTF-8");
    max_id = std::max<int64_t>(max_id, id.get<int64_t>());
    entries.push_back(&*it);
  }
  vocab.shrink_to_fit();
  if (max_id > 50'000'000) fail("model.vocab ids are implausibly large");
  // Several tokens with one id (which HF leaves to its hash map's order): the id decodes to the
  // greatest of them in byte order, whatever their order in the file.
  id_to_token.assign(static_cast<size_t>(max_id + 1), std::string());
  std::vector<bool> decoded(id_to_token.size(), false);
  for (const auto* entry : entries) {
    const size_t i = entry->second.get<size_t>();
    if (!decoded[i] || id_to_token[i] < entry->first) id_to_token[i] = entry->first;
    decoded[i] = true;
  }
  if (this->model == Model::kBpe) {
    const json* merges_json = opt(model, "merges");
    if (!merges_json || !merges_json->is_array()) fail("model.merges missing or not an array");
    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve(merges_json->size());
    for (const json& m : *merges_json) {
      if (m.is_string()) {  // "a b" (tokenizers before 0.20)
        const std::string& line = m.get_ref<const std::string&>();
        const size_t space = line.find(' ');
        if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
          fail("model.merges[" + std::to_string(merges.size()) + "] is not \"left right\"");
        merges.emplace_back(line.substr(0, space), line.substr(space + 1));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        fail("model.merges[" + std::to_string(merges.size()) + "] is neither \"left right\" nor [left, right]");
      }
    }
    int32_t bpe_unk = -1;
    if (!bpe_unk_token.empty()) {
      bpe_unk = vocab.find(bpe_unk_token.data(), bpe_unk_token.size());
      if (bpe_unk < 0) fail("model.unk_token \"" + bpe_unk_token + "\" is not in the vocabulary");
    }
    std::string error;
    bpe.build(merges, [&](const std::string& t) { return vocab.find(t.data(), t.size()); }, bpe_unk, &error);
    if (!error.empty()) fail("model.merges: " + error);
  }

  // Normalizer.
  const json& norm = j.contains("normalizer") ? j["normalizer"] : json();
  if (this->model == Model::kBpe && !norm.is_null())
    fail("a normalizer with a BPE model is not supported (byte-level BPE as RoBERTa: normalizer null)");
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
  if (this->model == Model::kBpe) {
    if (!pre.is_object() || opt_string(pre, "type", "", "pre_tokenizer.type") != "ByteLevel")
      fail("pre_tokenizer is not supported with a BPE model (ByteLevel only)");
    add_prefix_space = opt_bool(pre, "add_prefix_space", true, "pre_tokenizer.add_prefix_space");
    use_regex = opt_bool(pre, "use_regex", true, "pre_tokenizer.use_regex");
  } else if (!pre.is_object() || opt_string(pre, "type", "", "pre_tokenizer.type") != "BertPreTokenizer") {
    fail("pre_tokenizer is not supported (BertPreTokenizer only)");
  }

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
  } else if (post.is_object() && (post_type == "BertProcessing" || post_type == "RobertaProcessing")) {
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
    if (post_type == "RobertaProcessing") {
      // <s> A </s></s> B </s>, every type id 0 (as HF tokenizers 0.23 gives them).
      roberta_processing = true;
      trim_offsets = opt_bool(post, "trim_offsets", true, "post_processor.trim_offsets");
      post_add_prefix_space = opt_bool(post, "add_prefix_space", true, "post_processor.add_prefix_space");
      pair_template = {sp(c.first, 0), seq(0, 0), sp(s.first, 0), sp(s.first, 0), seq(1, 0), sp(s.first, 0)};
    } else {
      pair_template = {sp(c.first, 0), seq(0, 0), sp(s.first, 0), seq(1, 1), sp(s.first, 1)};
    }
  } else if (post.is_null() || (post.is_object() && post_type == "ByteLevel")) {
    if (!post.is_null()) {
      trim_offsets = opt_bool(post, "trim_offsets", true, "post_processor.trim_offsets");
      post_add_prefix_space = opt_bool(post, "add_prefix_space", true, "post_processor.add_prefix_space");
    }
    TemplatePiece a; a.is_sequence = true; a.sequence = 0;
    TemplatePiece b; b.is_sequence = true; b.sequence = 1; b.type_id = 1;
    single_template = {a};
    pair_template = {a, b};
  } else {
    fail("post_processor is not supported (TemplateProcessing, BertProcessing, RobertaProcessing or ByteLevel)");
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
  for (size_t i = 0; model == Model::kWordPiece && i < id_to_token.size(); ++i) {
    const std::string& t = id_to_token[i];
    if (t.size() > prefix.size() && !prefix.empty() && t.compare(0, prefix.size(), prefix) == 0)
      continuing.insert(std::string_view(t).substr(prefix.size()), static_cast<int32_t>(i));
  }
  if (model == Model::kBpe) unk_token = bpe_unk_token.empty() ? "<unk>" : bpe_unk_token;
  unk_id = vocab.find(unk_token.data(), unk_token.size());
  for (const auto& a : added)
    if (a.content == unk_token) unk_id = a.id;
  // A byte-level BPE needs no unknown token (RoBERTa's model has none; unk_id() is then the
  // "<unk>" of the vocabulary, or -1).
  if (unk_id < 0 && model == Model::kWordPiece)
    throw FormatError("tokenizer: unk_token \"" + unk_token + "\" is not in the vocabulary");
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
void load_checked(Tokenizer::Impl& impl, std::string_view tokenizer_json, const std::string& where,
                  const std::optional<std::string>& pad_token = std::nullopt) {
  const auto parsed = tokenizer_detail::parse_tokenizer_json(tokenizer_json, where);
  try {
    impl.load_tokenizer_json(parsed, where);
  } catch (const json::exception& e) {
    throw FormatError(where + ": unexpected value: " + e.what());
  }
  if (pad_token) impl.pad_token = *pad_token;
  impl.finish();
}

// tokenizer_config.json and special_tokens_map.json of a folder (both optional).
struct TokenizerConfig {
  json config = json::object();
  json special_map = json::object();

  explicit TokenizerConfig(const std::string& dir) {
    const std::string config_path = dir + "/tokenizer_config.json";
    if (file_exists(config_path)) {
      config = core::read_json_file(config_path);
      if (!config.is_object()) throw FormatError(config_path + ": not a JSON object");
    }
    const std::string map_path = dir + "/special_tokens_map.json";
    if (file_exists(map_path)) {
      special_map = core::read_json_file(map_path);
      if (!special_map.is_object()) special_map = json::object();
    }
  }
  // A special token: the config's, else the map's, else the fallback.
  std::string special(const char* key, const char* fallback) const {
    if (config.contains(key)) { std::string t = token_text(config[key]); if (!t.empty()) return t; }
    if (special_map.contains(key)) { std::string t = token_text(special_map[key]); if (!t.empty()) return t; }
    return fallback;
  }
  bool flag(const char* key, bool fallback) const {
    return config.contains(key) && config[key].is_boolean() ? config[key].get<bool>() : fallback;
  }
};

// vocab.json + merges.txt + tokenizer_config.json (+ special_tokens_map.json): the tokenizer.json
// transformers' RobertaConverter builds from a RobertaTokenizer (shared/tools/bpe_tokenizer.js):
// BPE without unk or dropout, ByteLevel pre-tokenizer (add_prefix_space from the config, default
// false), RobertaProcessing (trim_offsets, default true), the specials in id order, <mask> with
// lstrip.
json roberta_tokenizer_json(const std::string& dir, std::string* pad_token) {
  const TokenizerConfig cfg(dir);
  const std::string vocab_path = dir + "/vocab.json", merges_path = dir + "/merges.txt";
  json vocab = core::read_json_file(vocab_path);
  if (!vocab.is_object()) throw FormatError(vocab_path + ": not a JSON object");
  const std::string text = core::read_file(merges_path);
  json merges = json::array();
  for (size_t i = 0, line_no = 1; i < text.size(); ++line_no) {
    size_t end = text.find('\n', i);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(i, end - i);
    i = end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("#version", 0) == 0) continue;
    const size_t space = line.find(' ');
    if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos)
      throw FormatError(merges_path + ": line " + std::to_string(line_no) + " is not \"left right\"");
    if (!tokenizer_detail::utf8_valid(line.data(), line.size()))
      throw FormatError(merges_path + ": line " + std::to_string(line_no) + " is not UTF-8");
    merges.push_back({line.substr(0, space), line.substr(space + 1)});
  }
  const bool add_prefix_space = cfg.flag("add_prefix_space", false);
  const bool trim_offsets = cfg.flag("trim_offsets", true);
  auto id_of = [&](const std::string& token, const char* key) -> json {
    if (!vocab.contains(token)) throw FormatError(vocab_path + ": " + key + " " + token + " is not in the vocabulary");
    return vocab[token];
  };
  const std::string cls = cfg.special("cls_token", "<s>"), sep = cfg.special("sep_token", "</s>");
  std::vector<std::pair<int64_t, std::string>> specials;
  std::string mask;
  for (const auto& [key, fallback] : {std::pair<const char*, const char*>{"bos_token", "<s>"}, {"pad_token", "<pad>"},
                                      {"eos_token", "</s>"}, {"unk_token", "<unk>"}, {"sep_token", "</s>"},
                                      {"cls_token", "<s>"}, {"mask_token", "<mask>"}}) {
    const std::string token = cfg.special(key, fallback);
    const json id = id_of(token, key);
    if (!id.is_number_integer()) throw FormatError(vocab_path + ": the id of " + token + " is not an integer");
    if (std::string(key) == "mask_token") mask = token;
    if (std::string(key) == "pad_token") *pad_token = token;
    bool seen = false;
    for (const auto& sp : specials) seen |= sp.second == token;
    if (!seen) specials.push_back({id.get<int64_t>(), token});
  }
  std::stable_sort(specials.begin(), specials.end());
  json added = json::array();
  for (const auto& [id, token] : specials) {
    const bool is_mask = token == mask;
    added.push_back({{"id", id}, {"content", token}, {"single_word", false}, {"lstrip", is_mask},
                     {"rstrip", false}, {"normalized", !is_mask}, {"special", true}});
  }
  return {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space},
                             {"trim_offsets", true}, {"use_regex", true}}},
          {"post_processor", {{"type", "RobertaProcessing"}, {"sep", {sep, id_of(sep, "sep_token")}},
                              {"cls", {cls, id_of(cls, "cls_token")}}, {"trim_offsets", trim_offsets},
                              {"add_prefix_space", add_prefix_space}}},
          {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
          {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                     {"continuing_subword_prefix", ""}, {"end_of_word_suffix", ""}, {"fuse_unk", false},
                     {"byte_fallback", false}, {"ignore_merges", false}, {"vocab", vocab}, {"merges", merges}}}};
}

}  // namespace

Tokenizer Tokenizer::from_dir(const std::string& dir) {
  auto impl = std::make_shared<Impl>();
  const std::string tokenizer_json = dir + "/tokenizer.json";
  if (file_exists(tokenizer_json)) {
    load_checked(*impl, core::read_file(tokenizer_json), tokenizer_json);
    return Tokenizer(impl);
  }

  // vocab.txt + tokenizer_config.json (+ special_tokens_map.json): build the tokenizer.json that
  // transformers' BertTokenizerFast conversion builds, then load it.
  const std::string vocab_path = dir + "/vocab.txt";
  if (!file_exists(vocab_path)) {
    if (file_exists(dir + "/vocab.json") && file_exists(dir + "/merges.txt")) {
      std::string pad;
      const json tj = roberta_tokenizer_json(dir, &pad);
      load_checked(*impl, tj.dump(), dir + "/vocab.json", pad);
      return Tokenizer(impl);
    }
    throw IoError("no tokenizer.json, vocab.txt or vocab.json + merges.txt in " + dir);
  }
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
  const TokenizerConfig cfg(dir);
  const json& config = cfg.config;
  const json& special_map = cfg.special_map;
  auto special_of = [&](const char* key, const char* fallback) { return cfg.special(key, fallback); };
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
  load_checked(*impl, tj.dump(), vocab_path, pad);
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
  json post = nullptr;
  if (roberta_processing) {
    const SpecialTokenIds* c = special(single_template.front().special);
    const SpecialTokenIds* e = special(single_template.back().special);
    post = {{"type", "RobertaProcessing"}, {"sep", {single_template.back().special, e->ids.front()}},
            {"cls", {single_template.front().special, c->ids.front()}}, {"trim_offsets", trim_offsets},
            {"add_prefix_space", post_add_prefix_space}};
  } else if (!special_tokens.empty() || model == Model::kWordPiece) {
    post = {{"type", "TemplateProcessing"}, {"single", template_json(single_template)},
            {"pair", template_json(pair_template)}, {"special_tokens", specials}};
  } else if (trim_offsets) {
    post = {{"type", "ByteLevel"}, {"add_prefix_space", post_add_prefix_space}, {"trim_offsets", true},
            {"use_regex", true}};
  }
  if (model == Model::kBpe) {
    json merges = json::array();
    for (const auto& [a, b] : bpe.merges()) merges.push_back({a, b});
    return {{"version", "1.0"},
            {"truncation", nullptr},
            {"padding", {{"pad_token", pad_token}}},
            {"added_tokens", added_json},
            {"normalizer", nullptr},
            {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space},
                               {"trim_offsets", true}, {"use_regex", use_regex}}},
            {"post_processor", post},
            {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
            {"model", {{"type", "BPE"}, {"dropout", nullptr},
                       {"unk_token", bpe_unk_token.empty() ? json() : json(bpe_unk_token)},
                       {"continuing_subword_prefix", ""}, {"end_of_word_suffix", ""}, {"fuse_unk", false},
                       {"byte_fallback", false}, {"ignore_merges", false}, {"vocab", vocab_json},
                       {"merges", merges}}}};
  }
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", {{"pad_token", pad_token}}},
          {"added_tokens", added_json},
          {"normalizer", normalizer},
          {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
          {"post_processor", post},
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
  auto impl = std::make_shared<Impl>();
  load_checked(*impl, serialized, "serialized tokenizer");
  return Tokenizer(impl);
}

}  // namespace maum

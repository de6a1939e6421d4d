#include "tokenizer/src/tokenizer_json.h"

#include "maum/error.h"

namespace maum::tokenizer_detail {
namespace {

using json = nlohmann::json;

// Builds the document as nlohmann's own DOM parser does (objects keep the last value of a repeated
// key), with one stack frame per open object or array and no recursion, except that the object
// under root -> "model" -> "vocab" goes to out.vocab instead of the document.
class TokenizerJsonBuilder final : public nlohmann::json_sax<json> {
 public:
  explicit TokenizerJsonBuilder(TokenizerJson& out) : out_(out) {}

  bool null() override { return put(json(nullptr)); }
  bool boolean(bool v) override { return put(json(v)); }
  bool number_integer(number_integer_t v) override { return put(json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return put(json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return put(json(v)); }
  bool string(string_t& v) override { return put(json(std::move(v))); }
  bool binary(binary_t& v) override { return put(json::binary(std::move(v))); }

  bool start_object(std::size_t) override {
    Kind kind = Kind::kObject;
    if (stack_.size() == 1 && stack_[0].kind == Kind::kObject && stack_[0].key == "model") {
      kind = Kind::kModel;
    } else if (stack_.size() == 2 && stack_[1].kind == Kind::kModel && stack_[1].key == "vocab") {
      kind = Kind::kVocab;
      vocab_.clear();
    }
    stack_.push_back({kind, kind == Kind::kVocab ? json() : json::object(), {}});
    return true;
  }
  bool key(string_t& k) override {
    Frame& f = stack_.back();
    f.key = std::move(k);
    // A repeated "model" or "vocab" replaces what came before, whatever its type.
    if (stack_.size() == 1 && f.key == "model") out_.vocab.reset();
    if (f.kind == Kind::kModel && f.key == "vocab") {
      out_.vocab.reset();
      f.value.erase("vocab");
    }
    return true;
  }
  bool end_object() override { return end_container(); }
  bool start_array(std::size_t) override {
    stack_.push_back({Kind::kArray, json::array(), {}});
    return true;
  }
  bool end_array() override { return end_container(); }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    error_ = e.what();
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  enum class Kind { kObject, kModel, kVocab, kArray };
  struct Frame {
    Kind kind;
    json value;
    std::string key;  // objects: the key of the value being read
  };

  bool end_container() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    if (f.kind == Kind::kVocab) {
      out_.vocab = std::move(vocab_);
      vocab_ = {};
      return true;
    }
    return put(std::move(f.value));
  }

  bool put(json&& v) {
    if (stack_.empty()) {
      out_.doc = std::move(v);
      return true;
    }
    Frame& f = stack_.back();
    switch (f.kind) {
      case Kind::kArray: f.value.push_back(std::move(v)); break;
      case Kind::kVocab: vocab_.emplace_back(std::move(f.key), std::move(v)); break;
      default: f.value[f.key] = std::move(v); break;
    }
    return true;
  }

  TokenizerJson& out_;
  std::vector<Frame> stack_;
  std::vector<std::pair<std::string, json>> vocab_;  // the vocab object being read
  std::string error_;
};

}  // namespace

TokenizerJson parse_tokenizer_json(std::string_view text, const std::string& where) {
  TokenizerJson out;
  TokenizerJsonBuilder builder(out);
  if (!json::sax_parse(text.begin(), text.end(), &builder))
    throw FormatError(where + ": invalid JSON: " + builder.error());
  return out;
}

}  // namespace maum::tokenizer_detail

// libFuzzer target: Tokenizer::encode / encode_pair on arbitrary bytes, strict and replace modes,
// with a cased (klue-bert-base) and an uncased, accent-stripping (en-uncased) vocabulary.
// The only acceptable failure is maum::InvalidArgument for invalid UTF-8 in strict mode; every
// result must be well-formed (ids in the vocabulary, offsets inside the text, parallel arrays).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "maum/error.h"
#include "maum/tokenizer.h"

namespace {

std::string shared_dir() {
  const char* env = std::getenv("MAUM_SHARED");
  return env && *env ? env : MAUM_SHARED_DEFAULT;
}

const maum::Tokenizer& cased() {
  static const maum::Tokenizer t = maum::Tokenizer::from_dir(shared_dir() + "/vocab/klue-bert-base");
  return t;
}
const maum::Tokenizer& uncased() {
  static const maum::Tokenizer t = maum::Tokenizer::from_dir(shared_dir() + "/vocab/en-uncased");
  return t;
}

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

void check(const maum::Tokenizer& tok, const maum::Encoding& e, size_t max_offset) {
  if (e.ids.size() != e.type_ids.size() || e.ids.size() != e.offsets.size() ||
      e.ids.size() != e.attention_mask.size())
    __builtin_trap();
  for (size_t i = 0; i < e.ids.size(); ++i) {
    if (e.ids[i] < 0 || static_cast<size_t>(e.ids[i]) >= tok.vocab_size()) __builtin_trap();
    if (e.offsets[i].first > e.offsets[i].second || e.offsets[i].second > max_offset) __builtin_trap();
  }
}

void run(const maum::Tokenizer& tok, std::string_view text) {
  maum::EncodeOptions strict;
  bool valid = true;
  try {
    maum::Encoding e = tok.encode(text, strict);
    check(tok, e, code_points(text));
  } catch (const maum::InvalidArgument&) {
    valid = false;  // invalid UTF-8: the documented error
  }
  maum::EncodeOptions replace;
  replace.invalid_utf8 = maum::InvalidUtf8::kReplace;
  // With replacement each invalid byte becomes at most one U+FFFD: never more code points than bytes.
  maum::Encoding r = tok.encode(text, replace);
  check(tok, r, valid ? code_points(text) : text.size());
  replace.max_length = 1 + text.size() % 16;
  replace.pad_to_length = text.size() % 24;
  const size_t half = text.size() / 2;
  (void)tok.decode(r.ids);
  // A max_length below the pair's 3 special tokens is refused (as in HF); any other must encode.
  if (replace.max_length < 3) {
    try {
      (void)tok.encode_pair(text.substr(0, half), text.substr(half), replace);
    } catch (const maum::InvalidArgument&) {
      return;
    }
    __builtin_trap();
  }
  maum::Encoding p = tok.encode_pair(text.substr(0, half), text.substr(half), replace);
  check(tok, p, text.size());
  if (!p.ids.empty() && p.ids.size() > std::max(replace.max_length, replace.pad_to_length))
    __builtin_trap();  // truncation must hold (the specials fit)
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  run(cased(), text);
  run(uncased(), text);
  return 0;
}

// libFuzzer target: the byte-level BPE tokenizer (shared/vocab/bpe-roberta-style, as loaded from
// tokenizer.json and with add_prefix_space) on arbitrary bytes: every result well formed (as in
// fuzz_tokenizer), and byte-level BPE being lossless, decoding a valid text's ids gives the text back.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tests/fuzz/tokenizer_fuzz_common.h"

namespace {

const maum::Tokenizer& bpe() {
  static const maum::Tokenizer t = maum::Tokenizer::from_dir(maum_fuzz::shared_dir() + "/vocab/bpe-roberta-style");
  return t;
}
const maum::Tokenizer& bpe_prefix_space() {
  static const maum::Tokenizer t = [] {
    nlohmann::json j = nlohmann::json::parse(bpe().serialize());
    j["pre_tokenizer"]["add_prefix_space"] = true;
    j["post_processor"]["add_prefix_space"] = true;
    return maum::Tokenizer::from_serialized(j.dump());
  }();
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  maum_fuzz::run(bpe(), text);
  maum_fuzz::run(bpe_prefix_space(), text);
  // Lossless: without specials, the ids decode to the text (unless <mask>'s lstrip took spaces).
  maum::EncodeOptions plain;
  plain.add_special_tokens = false;
  plain.invalid_utf8 = maum::InvalidUtf8::kReplace;
  const std::string valid = maum::replace_invalid_utf8(std::string(text));
  if (valid.find("<mask>") == std::string::npos &&
      bpe().decode(bpe().encode(valid, plain).ids, false) != valid)
    __builtin_trap();
  return 0;
}

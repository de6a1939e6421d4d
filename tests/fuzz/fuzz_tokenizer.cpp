// libFuzzer target: Tokenizer::encode / encode_pair on arbitrary bytes, strict and replace modes,
// with a cased (klue-bert-base) and an uncased, accent-stripping (en-uncased) vocabulary.
// The only acceptable failure is maum::InvalidArgument for invalid UTF-8 in strict mode; every
// result must be well-formed (ids in the vocabulary, offsets inside the text, parallel arrays).
#include "tests/fuzz/tokenizer_fuzz_common.h"

namespace {

using maum_fuzz::shared_dir;

const maum::Tokenizer& cased() {
  static const maum::Tokenizer t = maum::Tokenizer::from_dir(shared_dir() + "/vocab/klue-bert-base");
  return t;
}
const maum::Tokenizer& uncased() {
  static const maum::Tokenizer t = maum::Tokenizer::from_dir(shared_dir() + "/vocab/en-uncased");
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  maum_fuzz::run(cased(), text);
  maum_fuzz::run(uncased(), text);
  return 0;
}

// Byte-level BPE on a tiny vocabulary the test writes itself (no ../shared): GPT-2's byte ->
// unicode mapping, merges by rank, the GPT-2 regex, offsets and trim_offsets, RobertaProcessing,
// added tokens, loading from tokenizer.json and from vocab.json + merges.txt, serialize round trip,
// errors. Expected values were worked out by hand and checked with HF tokenizers 0.23 (node binding)
// on the same tokenizer.json.
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "maum/error.h"
#include "maum/tokenizer.h"
#include "tests/common/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Offsets = std::vector<std::pair<uint32_t, uint32_t>>;

// GPT-2's bytes_to_unicode(), written from its definition.
std::string mapped(uint8_t b) {
  uint32_t cp = b;
  const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
  if (!printable) {
    uint32_t n = 0;
    for (uint32_t x = 0; x < b; ++x)
      if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE))) ++n;
    cp = 256 + n;
  }
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return out;
}

// Ids: <s>=0 <pad>=1 </s>=2 <unk>=3, byte b = 4 + b, then the merged tokens, <mask> last.
constexpr int32_t kByte = 4;
const std::vector<std::pair<std::string, std::string>> kMerges = {
    {"Ġ", "t"}, {"h", "e"}, {"l", "l"}, {"a", "a"}, {"Ġt", "he"}, {"he", "ll"}, {"hell", "o"}, {"Ã", "©"},
    {"Ġ", "Ġ"}};
// Merged tokens in merge order: ids 260...
int32_t merged_id(const std::string& token) {
  for (size_t i = 0; i < kMerges.size(); ++i)
    if (kMerges[i].first + kMerges[i].second == token) return 260 + static_cast<int32_t>(i);
  return -1;
}
constexpr int32_t kMask = 260 + 9;

json vocab_json() {
  json v = {{"<s>", 0}, {"<pad>", 1}, {"</s>", 2}, {"<unk>", 3}};
  for (int b = 0; b < 256; ++b) v[mapped(static_cast<uint8_t>(b))] = kByte + b;
  for (const auto& [a, b] : kMerges) v[a + b] = merged_id(a + b);
  v["<mask>"] = kMask;
  return v;
}

class BpeTokenizer : public maum::testing::TempDirTest {
 protected:
  // tokenizer.json as transformers' RobertaConverter writes it.
  json tokenizer_json(bool add_prefix_space = false) {
    json merges = json::array();
    for (const auto& [a, b] : kMerges) merges.push_back({a, b});
    json added = json::array();
    for (const auto& [id, t] : std::vector<std::pair<int, std::string>>{{0, "<s>"}, {1, "<pad>"}, {2, "</s>"}, {3, "<unk>"}})
      added.push_back({{"id", id}, {"content", t}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", true}, {"special", true}});
    added.push_back({{"id", kMask}, {"content", "<mask>"}, {"single_word", false}, {"lstrip", true},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
    return {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added},
            {"normalizer", nullptr},
            {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", add_prefix_space}, {"trim_offsets", true}, {"use_regex", true}}},
            {"post_processor", {{"type", "RobertaProcessing"}, {"sep", {"</s>", 2}}, {"cls", {"<s>", 0}},
                                {"trim_offsets", true}, {"add_prefix_space", add_prefix_space}}},
            {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
            {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
                       {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false},
                       {"ignore_merges", false}, {"vocab", vocab_json()}, {"merges", merges}}}};
  }
  maum::Tokenizer load(const json& j) { return maum::Tokenizer::from_serialized(j.dump()); }
  maum::Tokenizer tok() { return load(tokenizer_json()); }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(fs::path(dir_) / name, std::ios::binary) << text;
  }
};

int32_t byte_id(char c) { return kByte + static_cast<uint8_t>(c); }

TEST_F(BpeTokenizer, MergesByRankAndRobertaSpecials) {
  const auto t = tok();
  // "hello": h e l l o -> (he) l l o -> he (ll) o -> (hell) o -> (hello).
  auto e = t.encode("hello");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{0, merged_id("hello"), 2}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0}));
  EXPECT_EQ(e.offsets, (Offsets{{0, 0}, {0, 5}, {0, 0}}));
  EXPECT_EQ(t.cls_id(), 0);
  EXPECT_EQ(t.sep_id(), 2);
  EXPECT_EQ(t.pad_id(), 1);
  // " the": Ġ t -> (Ġt), h e -> (he), then (Ġthe).
  e = t.encode("x the", {0, false});
  EXPECT_EQ(e.ids, (std::vector<int32_t>{byte_id('x'), merged_id("Ġthe")}));
  // A merge that applies twice in a row: leftmost first ("aaa" -> aa a).
  e = t.encode("aaa", {0, false});
  EXPECT_EQ(e.ids, (std::vector<int32_t>{merged_id("aa"), byte_id('a')}));
  e = t.encode("aaaa", {0, false});
  EXPECT_EQ(e.ids, (std::vector<int32_t>{merged_id("aa"), merged_id("aa")}));
}

TEST_F(BpeTokenizer, PairIsSAThenSlashSSlashSBSlashS) {
  const auto e = tok().encode_pair("he", "aa");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{0, merged_id("he"), 2, 2, merged_id("aa"), 2}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(e.offsets, (Offsets{{0, 0}, {0, 2}, {0, 0}, {0, 0}, {0, 2}, {0, 0}}));
  // Truncation counts the four specials of a pair.
  const auto cut = tok().encode_pair("he he", "aa aa", {6});
  EXPECT_EQ(cut.ids.size(), 6u);
}

TEST_F(BpeTokenizer, RegexPiecesAndSpaces) {
  const auto t = tok();
  // "a1'sb" -> "a" "1" "'s" "b": letters, numbers and the contraction are pieces of their own.
  auto e = t.encode("a1'sb", {0, false});
  EXPECT_EQ(e.ids, (std::vector<int32_t>{byte_id('a'), byte_id('1'), byte_id('\''), byte_id('s'), byte_id('b')}));
  EXPECT_EQ(e.offsets, (Offsets{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}}));
  // "a   b": \s+(?!\S) takes two spaces, the last one goes with "b" (" b"); Ġ Ġ merge into ĠĠ,
  // and trim_offsets leaves the space-only tokens empty at their end.
  e = t.encode("a   b", {0, false});
  EXPECT_EQ(e.ids, (std::vector<int32_t>{byte_id('a'), merged_id("ĠĠ"), byte_id(' '), byte_id('b')}));
  EXPECT_EQ(e.offsets, (Offsets{{0, 1}, {3, 3}, {4, 4}, {4, 5}}));
  // A newline before a word is a piece of its own; a trailing run of spaces is one piece.
  e = t.encode("a\nb  ", {0, false});
  EXPECT_EQ(e.ids, (std::vector<int32_t>{byte_id('a'), byte_id('\n'), byte_id('b'), merged_id("ĠĠ")}));
}

TEST_F(BpeTokenizer, OffsetsOfBytesOfOneCharacterCoverTheCharacter) {
  const auto t = tok();
  // é (C3 A9) merges; 가 (EA B0 80) does not: three byte tokens, each covering the character.
  auto e = t.encode("é가x", {0, false});
  EXPECT_EQ(e.ids, (std::vector<int32_t>{merged_id("Ã©"), kByte + 0xEA, kByte + 0xB0, kByte + 0x80, byte_id('x')}));
  EXPECT_EQ(e.offsets, (Offsets{{0, 1}, {1, 2}, {1, 2}, {1, 2}, {2, 3}}));
  EXPECT_EQ(t.decode(e.ids), "é가x");
}

TEST_F(BpeTokenizer, AddPrefixSpace) {
  const auto t = load(tokenizer_json(true));
  // "the" becomes " the" (one token); the added space keeps the first token's offsets whole.
  auto e = t.encode("the");
  EXPECT_EQ(e.ids, (std::vector<int32_t>{0, merged_id("Ġthe"), 2}));
  EXPECT_EQ(e.offsets, (Offsets{{0, 0}, {0, 3}, {0, 0}}));
}

TEST_F(BpeTokenizer, AddedTokensWithLstripAndTypedSpecials) {
  const auto t = tok();
  // <mask> takes the space before it (lstrip), which trim_offsets then leaves out of its offsets
  // (HF trims the token's string, " <mask>"); "<s>" typed in the text is the <s> token.
  auto e = t.encode("he <mask><s>", {0, false});
  EXPECT_EQ(e.ids, (std::vector<int32_t>{merged_id("he"), kMask, 0}));
  EXPECT_EQ(e.offsets, (Offsets{{0, 2}, {3, 9}, {9, 12}}));
  EXPECT_EQ(t.decode(e.ids, false), "he<mask><s>");
  EXPECT_EQ(t.decode(e.ids, true), "he");
}

TEST_F(BpeTokenizer, InvalidUtf8IsAnErrorUnlessReplaced) {
  const auto t = tok();
  EXPECT_THROW(t.encode("a\xff"), maum::InvalidArgument);
  const auto e = t.encode("a\xff", {0, false, 0, maum::InvalidUtf8::kReplace});
  // U+FFFD is EF BF BD: three byte tokens covering character 1.
  EXPECT_EQ(e.ids, (std::vector<int32_t>{byte_id('a'), kByte + 0xEF, kByte + 0xBF, kByte + 0xBD}));
  EXPECT_EQ(e.offsets, (Offsets{{0, 1}, {1, 2}, {1, 2}, {1, 2}}));
}

TEST_F(BpeTokenizer, RepeatedAndLongWordsMergeTheSame) {
  const auto t = tok();
  // The second "hello" comes from the merge cache; a word over the cache's 256 bytes is merged
  // directly: both must agree with the first.
  auto e = t.encode("hello hello", {0, false});
  EXPECT_EQ(e.ids, (std::vector<int32_t>{merged_id("hello"), byte_id(' '), merged_id("hello")}));
  const auto long_word = t.encode(std::string(600, 'a'), {0, false});
  EXPECT_EQ(long_word.ids, std::vector<int32_t>(300, merged_id("aa")));
  EXPECT_EQ(long_word.offsets.back(), (std::pair<uint32_t, uint32_t>{598, 600}));
}

TEST_F(BpeTokenizer, VocabJsonAndMergesAndSerializedFormAgree) {
  const auto ref = tok();
  write("vocab.json", vocab_json().dump());
  std::string merges = "#version: 0.2\n";
  for (const auto& [a, b] : kMerges) merges += a + " " + b + "\n";
  write("merges.txt", merges);
  write("tokenizer_config.json", R"({"tokenizer_class": "RobertaTokenizer", "add_prefix_space": false,
                                     "mask_token": {"content": "<mask>", "lstrip": true}})");
  const auto from_files = maum::Tokenizer::from_dir(dir_);
  const auto back = maum::Tokenizer::from_serialized(from_files.serialize());
  for (const char* text : {"hello the  aaa é가", "he <mask> x", " <s>the</s>", "a\n\n b  "}) {
    const auto want = ref.encode(text);
    for (const auto* t : {&from_files, &back}) {
      const auto got = t->encode(text);
      EXPECT_EQ(got.ids, want.ids) << text;
      EXPECT_EQ(got.offsets, want.offsets) << text;
    }
  }
  EXPECT_EQ(back.vocab_size(), ref.vocab_size());
  EXPECT_EQ(back.pad_id(), 1);
  // The serialized form is a tokenizer.json with a BPE model.
  EXPECT_EQ(json::parse(back.serialize())["model"]["type"], "BPE");
}

TEST_F(BpeTokenizer, BadFilesAreFormatErrors) {
  json j = tokenizer_json();
  j["model"]["merges"].push_back({"q", "zz"});
  EXPECT_THROW(load(j), maum::FormatError);  // "zz" is not in the vocabulary
  j = tokenizer_json();
  j["model"]["dropout"] = 0.1;
  EXPECT_THROW(load(j), maum::FormatError);
  j = tokenizer_json();
  j["model"]["merges"] = json::array({json::array({"h"})});
  EXPECT_THROW(load(j), maum::FormatError);
  j = tokenizer_json();
  j["normalizer"] = {{"type", "NFC"}};
  EXPECT_THROW(load(j), maum::FormatError);
  write("vocab.json", vocab_json().dump());
  write("merges.txt", "h e\nbroken-line\n");
  EXPECT_THROW(maum::Tokenizer::from_dir(dir_), maum::FormatError);
}

}  // namespace

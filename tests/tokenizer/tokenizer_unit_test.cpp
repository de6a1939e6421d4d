// Edge cases of the tokenizer whose expected results follow from HF tokenizers' rules (not from
// our own output): specials, invalid UTF-8, truncation, padding, long words, added tokens typed in
// the text, decoding, loading errors.
//
// The vocabularies are small fixtures this file writes itself (vocab.txt + tokenizer_config.json,
// the files of a Hugging Face BERT checkpoint, in a temporary folder): a token's id is its line
// number, so every expected id below follows from the lists here. The conformance tests
// (tokenizer_conformance_test.cpp) compare against the real vocabularies in ../shared.
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "maum/error.h"
#include "maum/tokenizer.h"
#include "tokenizer/src/vocab_table.h"

namespace {

using maum::EncodeOptions;
using maum::InvalidUtf8;
using maum::Tokenizer;
using Offsets = std::vector<std::pair<uint32_t, uint32_t>>;

// Writes vocab.txt (one token a line) and tokenizer_config.json into a fresh temporary folder,
// loads it with Tokenizer::from_dir and removes the folder again.
Tokenizer load_fixture(const std::vector<std::string>& vocab, const nlohmann::json& config) {
  std::string dir = (std::filesystem::temp_directory_path() / "maum-tok-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  {
    std::ofstream v(dir + "/vocab.txt");
    for (const auto& t : vocab) v << t << "\n";
    std::ofstream(dir + "/tokenizer_config.json") << config.dump(2);
  }
  try {
    Tokenizer t = Tokenizer::from_dir(dir);
    std::filesystem::remove_all(dir);
    return t;
  } catch (...) {
    std::filesystem::remove_all(dir);
    throw;
  }
}

const std::vector<std::string> kLetters = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
                                           "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z"};

// Uncased, laid out like bert-base-uncased: [PAD] 0, [unused0..98] 1..99, [UNK] 100, [CLS] 101,
// [SEP] 102, [MASK] 103, then the words the tests use.
std::vector<std::string> english_vocab() {
  std::vector<std::string> v = {"[PAD]"};
  for (int i = 0; i < 99; ++i) v.push_back("[unused" + std::to_string(i) + "]");
  for (const char* t : {"[UNK]", "[CLS]", "[SEP]", "[MASK]", "!", ",", ".", "[", "]"}) v.push_back(t);
  v.insert(v.end(), kLetters.begin(), kLetters.end());
  for (const char* t : {"hello", "world", "say", "now", "sep", "un", "##believ", "##able", "token",
                        "##ization"})
    v.push_back(t);
  return v;
}

// Cased, laid out like klue/bert-base: [PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4.
std::vector<std::string> korean_vocab() {
  std::vector<std::string> v = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "##a", "b", "x", "y",
                                "text", "number", "\xEA\xB0\x80" /* 가 */, "##\xEA\xB0\x80",
                                "\xEC\x95\x88" /* 안 */, "##\xEB\x85\x95" /* ##녕 */};
  for (char d = '0'; d <= '9'; ++d) {
    v.push_back(std::string(1, d));
    v.push_back("##" + std::string(1, d));
  }
  return v;
}

const Tokenizer& klue() {
  static const Tokenizer t = load_fixture(korean_vocab(), {{"do_lower_case", false}});
  return t;
}
const Tokenizer& english() {
  static const Tokenizer t = load_fixture(english_vocab(), {{"do_lower_case", true}});
  return t;
}

TEST(Tokenizer, FixtureIdsAreLineNumbers) {
  EXPECT_EQ(english().vocab_size(), english_vocab().size());
  EXPECT_EQ(english().cls_id(), 101);
  EXPECT_EQ(english().token_to_id("hello"), 135);  // [MASK] 103, then 5 punctuation marks, 26 letters
  EXPECT_EQ(klue().cls_id(), 2);
  EXPECT_EQ(klue().unk_id(), 1);
}

TEST(Tokenizer, SpecialIdsComeFromTheVocabulary) {
  EXPECT_EQ(klue().cls_id(), klue().token_to_id("[CLS]"));
  EXPECT_EQ(klue().sep_id(), klue().token_to_id("[SEP]"));
  EXPECT_EQ(klue().pad_id(), klue().token_to_id("[PAD]"));
  EXPECT_EQ(klue().unk_id(), klue().token_to_id("[UNK]"));
  EXPECT_EQ(english().cls_id(), english().token_to_id("[CLS]"));
  EXPECT_NE(english().cls_id(), klue().cls_id());  // 101 vs 2: nothing hard-coded
  EXPECT_EQ(klue().token_to_id("no-such-token-here"), -1);
  EXPECT_EQ(klue().id_to_token(klue().cls_id()), "[CLS]");
  EXPECT_THROW(klue().id_to_token(-1), maum::InvalidArgument);
  EXPECT_THROW(klue().id_to_token(static_cast<int32_t>(klue().vocab_size())), maum::InvalidArgument);
}

TEST(Tokenizer, EmptyTextIsClsSep) {
  for (const char* text : {"", "   ", "\t\n", "\x01\x02"}) {
    auto e = klue().encode(text);
    EXPECT_EQ(e.ids, (std::vector<int32_t>{klue().cls_id(), klue().sep_id()})) << text;
    EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0}));
    EXPECT_EQ(e.offsets, (Offsets{{0, 0}, {0, 0}}));
    EXPECT_EQ(e.attention_mask, (std::vector<uint8_t>{1, 1}));
  }
}

TEST(Tokenizer, OffsetsAreCodePointsIntoTheOriginalText) {
  // "hello" is one token; "é" (2 bytes) shifts byte offsets but not code-point offsets.
  auto e = english().encode("\xC3\xA9 hello");
  ASSERT_EQ(e.ids.size(), 4u);
  EXPECT_EQ(e.ids[2], english().token_to_id("hello"));
  EXPECT_EQ(e.offsets[1], (std::pair<uint32_t, uint32_t>{0, 1}));  // é -> e (accent stripped)
  EXPECT_EQ(e.ids[1], english().token_to_id("e"));
  EXPECT_EQ(e.offsets[2], (std::pair<uint32_t, uint32_t>{2, 7}));
}

TEST(Tokenizer, InvalidUtf8IsAnErrorUnlessReplaced) {
  const std::string bad = std::string("abc") + "\xFF" + "def";
  try {
    klue().encode(bad);
    FAIL() << "no error";
  } catch (const maum::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("byte offset 3"), std::string::npos) << e.what();
  }
  for (const char* s : {"\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE0\xA0", "\x80"})
    EXPECT_THROW(klue().encode(s), maum::InvalidArgument) << s;
  // Replace mode: each maximal invalid subsequence is one U+FFFD (one code point), which the
  // normalizer then drops: "x" after "\xE0\xA0" (one U+FFFD) is at code point 1.
  EncodeOptions replace;
  replace.invalid_utf8 = InvalidUtf8::kReplace;
  auto e = english().encode("\xE0\xA0x", replace);
  auto ref = english().encode("\xEF\xBF\xBDx");
  EXPECT_EQ(e.ids, ref.ids);
  EXPECT_EQ(e.offsets, ref.offsets);
  ASSERT_EQ(e.offsets.size(), 3u);
  EXPECT_EQ(e.offsets[1], (std::pair<uint32_t, uint32_t>{1, 2}));
  // Two bytes that can never start a sequence: two replacement characters.
  auto two = english().encode("\xFF\xFEx", replace);
  EXPECT_EQ(two.offsets[1], (std::pair<uint32_t, uint32_t>{2, 3}));
}

TEST(Tokenizer, TruncationKeepsSpecials) {
  const std::string text = "a b c d e f g h i j";
  auto full = english().encode(text);
  ASSERT_EQ(full.ids.size(), 12u);
  EncodeOptions o;
  o.max_length = 5;
  auto t = english().encode(text, o);
  ASSERT_EQ(t.ids.size(), 5u);
  EXPECT_EQ(t.ids.front(), english().cls_id());
  EXPECT_EQ(t.ids.back(), english().sep_id());
  EXPECT_EQ(std::vector<int32_t>(t.ids.begin() + 1, t.ids.end() - 1),
            std::vector<int32_t>(full.ids.begin() + 1, full.ids.begin() + 4));
  o.max_length = 100;
  EXPECT_EQ(english().encode(text, o).ids, full.ids);
  // The least max_length is the special tokens' count: 2 gives [CLS] [SEP]; 1 cannot hold them
  // (HF tokenizers: "Truncation error: ... max length is too low"), and never returns 2 tokens.
  o.max_length = 2;
  EXPECT_EQ(english().encode(text, o).ids,
            (std::vector<int32_t>{english().cls_id(), english().sep_id()}));
  o.max_length = 1;
  EXPECT_THROW(english().encode(text, o), maum::InvalidArgument);
  o.max_length = 2;
  EXPECT_THROW(english().encode_pair(text, text, o), maum::InvalidArgument);  // 3 specials
}

TEST(Tokenizer, PairTruncationLongestFirst) {
  // A has 8 tokens, B 2; max_length 10 leaves 7 for content. HF's longest_first: the shorter
  // keeps its 2, the longer gets 7 - 2 = 5.
  EncodeOptions o;
  o.max_length = 10;
  auto e = english().encode_pair("a b c d e f g h", "x y", o);
  ASSERT_EQ(e.ids.size(), 10u);
  const int32_t cls = english().cls_id(), sep = english().sep_id();
  auto id = [&](const char* t) { return english().token_to_id(t); };
  EXPECT_EQ(e.ids, (std::vector<int32_t>{cls, id("a"), id("b"), id("c"), id("d"), id("e"), sep, id("x"), id("y"), sep}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 0, 0, 0, 1, 1, 1}));
  EXPECT_EQ(e.offsets[7], (std::pair<uint32_t, uint32_t>{0, 1}));  // B's offsets are into B
  // Both long: max_length 9 -> 6 content tokens -> 3 and 3.
  o.max_length = 9;
  auto both = english().encode_pair("a b c d e f g h", "p q r s t u v w", o);
  EXPECT_EQ(both.ids, (std::vector<int32_t>{cls, id("a"), id("b"), id("c"), sep, id("p"), id("q"), id("r"), sep}));
  // Odd budget: the second gets the extra one (n1 = 7/2, n2 = n1 + 1).
  o.max_length = 10;
  auto odd = english().encode_pair("a b c d e f g h", "p q r s t u v w", o);
  EXPECT_EQ(odd.ids, (std::vector<int32_t>{cls, id("a"), id("b"), id("c"), sep, id("p"), id("q"), id("r"), id("s"), sep}));
  // No truncation requested: everything.
  EXPECT_EQ(english().encode_pair("a b c d e f g h", "x y").ids.size(), 13u);
}

TEST(Tokenizer, Padding) {
  EncodeOptions o;
  o.pad_to_length = 6;
  auto e = english().encode("hello", o);
  ASSERT_EQ(e.ids.size(), 6u);
  EXPECT_EQ(e.ids[3], english().pad_id());
  EXPECT_EQ(e.ids[5], english().pad_id());
  EXPECT_EQ(e.attention_mask, (std::vector<uint8_t>{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(e.type_ids, (std::vector<int32_t>{0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(e.offsets[4], (std::pair<uint32_t, uint32_t>{0, 0}));
  o.pad_to_length = 2;  // shorter than the encoding: no padding, no truncation
  EXPECT_EQ(english().encode("hello", o).ids.size(), 3u);
}

TEST(Tokenizer, WordOfMoreThan100CharsIsOneUnk) {
  const std::string w100(100, 'a'), w101(101, 'a');
  auto e101 = klue().encode(w101);
  EXPECT_EQ(e101.ids, (std::vector<int32_t>{klue().cls_id(), klue().unk_id(), klue().sep_id()}));
  EXPECT_EQ(e101.offsets[1], (std::pair<uint32_t, uint32_t>{0, 101}));
  auto e100 = klue().encode(w100);
  EXPECT_GT(e100.ids.size(), 3u);
  for (size_t i = 1; i + 1 < e100.ids.size(); ++i) EXPECT_NE(e100.ids[i], klue().unk_id());
  // Counted in characters, not bytes: 100 Hangul syllables (300 bytes) are not too long.
  std::string hangul;
  for (int i = 0; i < 100; ++i) hangul += "\xEA\xB0\x80";  // 가
  auto eh = klue().encode(hangul);
  EXPECT_GT(eh.ids.size(), 3u);
  for (size_t i = 1; i + 1 < eh.ids.size(); ++i) EXPECT_NE(eh.ids[i], klue().unk_id());
}

TEST(Tokenizer, AddedTokensTypedInTheTextAreMatchedRaw) {
  auto e = klue().encode("a [SEP] b");
  ASSERT_EQ(e.ids.size(), 5u);
  EXPECT_EQ(e.ids[2], klue().sep_id());
  EXPECT_EQ(e.offsets[2], (std::pair<uint32_t, uint32_t>{2, 7}));
  // Glued to text: still split out, before normalization.
  auto g = klue().encode("x[CLS]y");
  EXPECT_EQ(g.ids[2], klue().cls_id());
  EXPECT_EQ(g.offsets[2], (std::pair<uint32_t, uint32_t>{1, 6}));
  // Case matters (raw text): "[sep]" is not the token even for an uncased vocabulary.
  auto lower = english().encode("[sep]");
  EXPECT_EQ(lower.ids.size(), 5u);  // [ sep ]
  // A vocabulary whose tokenizer_config.json lists [NAME] as an additional special token (as
  // koelectra-v3's does): one token; "[", "NAME", "]" are in the vocabulary too, so without the
  // rule it would be three.
  const Tokenizer ko = load_fixture(
      {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[NAME]", "[RELIGION]", "[", "]", "NAME"},
      {{"do_lower_case", false}, {"additional_special_tokens", {"[NAME]", "[RELIGION]"}}});
  auto n = ko.encode("[NAME]");
  ASSERT_EQ(n.ids.size(), 3u);
  EXPECT_EQ(n.ids[1], 5);
  EXPECT_EQ(ko.token_to_id("[NAME]"), 5);
  EXPECT_EQ(ko.encode("[ NAME ]").ids.size(), 5u);
}

// The English fixture with extra added tokens, built from its serialized tokenizer.json. An added
// token takes the next id (the vocabulary's size) and grows the size by one.
Tokenizer english_with(const nlohmann::json& extra_tokens) {
  nlohmann::json j = nlohmann::json::parse(english().serialize());
  for (const auto& t : extra_tokens) j["added_tokens"].push_back(t);
  return Tokenizer::from_serialized(j.dump());
}

nlohmann::json added_token(const std::string& content, int id, bool normalized, bool lstrip = false,
                           bool rstrip = false, bool single_word = false) {
  return {{"id", id}, {"content", content}, {"single_word", single_word}, {"lstrip", lstrip},
          {"rstrip", rstrip}, {"normalized", normalized}, {"special", false}};
}

TEST(Tokenizer, NormalizedAddedTokensMatchTheNormalizedText) {
  // normalized=true: the pattern is the normalized content ("helloworld"), found in the
  // normalized text, so "HELLOWORLD" matches; its offsets are those of the original characters.
  const int next = static_cast<int>(english().vocab_size());
  const Tokenizer t = english_with(nlohmann::json::array({added_token("HelloWorld", next, true)}));
  auto e = t.encode("Say HELLOWORLD now");
  auto id = [&](const char* s) { return t.token_to_id(s); };
  EXPECT_EQ(e.ids, (std::vector<int32_t>{t.cls_id(), id("say"), next, id("now"), t.sep_id()}));
  EXPECT_EQ(e.offsets[2], (std::pair<uint32_t, uint32_t>{4, 14}));
  EXPECT_EQ(t.vocab_size(), english().vocab_size() + 1);
  // normalized=false: only the exact raw bytes match.
  const Tokenizer raw = english_with(nlohmann::json::array({added_token("HelloWorld", next, false)}));
  EXPECT_EQ(raw.encode("HelloWorld").ids[1], next);
  EXPECT_NE(raw.encode("helloworld").ids[1], next);
}

TEST(Tokenizer, AddedTokenStripAndSingleWord) {
  // lstrip/rstrip: the spaces around the token become part of it (offsets [1, 6) of "a <x> b").
  const int next = static_cast<int>(english().vocab_size());
  const Tokenizer t = english_with({added_token("<x>", next, false, true, true),
                                    added_token("<w>", next + 1, false, false, false, true)});
  auto e = t.encode("a <x> b");
  ASSERT_EQ(e.ids.size(), 5u);
  EXPECT_EQ(e.ids[2], next);
  EXPECT_EQ(e.offsets[2], (std::pair<uint32_t, uint32_t>{1, 6}));
  EXPECT_EQ(e.offsets[3], (std::pair<uint32_t, uint32_t>{6, 7}));
  // single_word: only when not glued to word characters.
  auto glued = t.encode("a<w>b");
  EXPECT_EQ(std::count(glued.ids.begin(), glued.ids.end(), next + 1), 0);
  auto alone = t.encode("a <w> b");
  EXPECT_EQ(std::count(alone.ids.begin(), alone.ids.end(), next + 1), 1);
}

TEST(Tokenizer, Decode) {
  auto e = english().encode("Hello, world! Unbelievable tokenization.");
  EXPECT_EQ(english().decode(e.ids), "hello, world! unbelievable tokenization.");
  EXPECT_EQ(english().decode(e.ids, false), "[CLS] hello, world! unbelievable tokenization. [SEP]");
  EXPECT_EQ(english().decode({}), "");
}

TEST(Tokenizer, BatchEqualsSequential) {
  std::vector<std::string> texts;
  for (int i = 0; i < 500; ++i) texts.push_back("text number " + std::to_string(i) + " \xEC\x95\x88\xEB\x85\x95");
  for (int threads : {1, 2, 3, 0}) {
    auto batch = klue().encode_batch(texts, {}, threads);
    ASSERT_EQ(batch.size(), texts.size());
    for (size_t i = 0; i < texts.size(); ++i) EXPECT_EQ(batch[i].ids, klue().encode(texts[i]).ids);
  }
  std::vector<std::string> with_bad = texts;
  with_bad[321] = "\xFF";
  EXPECT_THROW(klue().encode_batch(with_bad, {}, 2), maum::InvalidArgument);
}

TEST(Tokenizer, LoadingErrorsAreTyped) {
  EXPECT_THROW(Tokenizer::from_dir("/nonexistent-dir-for-maum"), maum::IoError);
  EXPECT_THROW(Tokenizer::from_serialized("{"), maum::FormatError);
  EXPECT_THROW(Tokenizer::from_serialized("[]"), maum::FormatError);
  EXPECT_THROW(Tokenizer::from_serialized(R"({"model": {"type": "BPE", "vocab": {}}})"), maum::FormatError);
  EXPECT_THROW(Tokenizer::from_serialized(R"({"model": {"type": "WordPiece", "vocab": {"a": -1}}})"),
               maum::FormatError);
  // A vocabulary without its unk token, or a post-processor id outside the vocabulary.
  nlohmann::json j = nlohmann::json::parse(english().serialize());
  j["model"]["unk_token"] = "<no-such-unk>";
  EXPECT_THROW(Tokenizer::from_serialized(j.dump()), maum::FormatError);
  j = nlohmann::json::parse(english().serialize());
  j["post_processor"]["special_tokens"]["[CLS]"]["ids"] = {1000000};
  EXPECT_THROW(Tokenizer::from_serialized(j.dump()), maum::FormatError);
  j = nlohmann::json::parse(english().serialize());
  j["normalizer"]["type"] = "NFKC";
  EXPECT_THROW(Tokenizer::from_serialized(j.dump()), maum::FormatError);
}

// A tokenizer.json whose objects repeat a key reads as a JSON object does: the last value counts
// (the vocabulary's entries are read in file order, not through a map: tokenizer_json.h).
TEST(Tokenizer, RepeatedJsonKeysKeepTheLastValue) {
  const std::string text = english().serialize();  // keys in byte order: "vocab" ends "model"
  const size_t vocab_open = text.find("\"vocab\":{");
  const size_t vocab_close = text.find("}},\"normalizer\"");
  ASSERT_NE(vocab_open, std::string::npos);
  ASSERT_NE(vocab_close, std::string::npos);
  const size_t vocab_body = vocab_open + std::strlen("\"vocab\":{");
  const int32_t hello = english().token_to_id("hello");
  const std::string seventh = english().id_to_token(7);
  ASSERT_GE(hello, 0);
  ASSERT_LT(seventh, std::string("hello"));
  auto with = [&](size_t at, const std::string& insert) {
    return Tokenizer::from_serialized(text.substr(0, at) + insert + text.substr(at));
  };
  // Before the real entry: the real one wins.
  EXPECT_EQ(with(vocab_body, "\"hello\":7,").token_to_id("hello"), hello);
  // After it: the new id wins, and id 7, now "hello" and its old token, decodes to the greater.
  const Tokenizer later = with(vocab_close, ",\"hello\":7");
  EXPECT_EQ(later.token_to_id("hello"), 7);
  EXPECT_EQ(later.token_to_id(seventh), 7);
  EXPECT_EQ(later.id_to_token(7), "hello");
  // An entry with a bad id that a later one replaces is no error; one that stays is.
  EXPECT_EQ(with(vocab_body, "\"hello\":-1,").token_to_id("hello"), hello);
  EXPECT_THROW(with(vocab_close, ",\"hello\":-1"), maum::FormatError);
  // A repeated "vocab": the last one counts, object or not.
  EXPECT_EQ(with(vocab_open, "\"vocab\":{\"zzqq\":0},").token_to_id("zzqq"), -1);
  EXPECT_EQ(with(vocab_open, "\"vocab\":3,").token_to_id("hello"), hello);
  EXPECT_THROW(with(vocab_close + 1, ",\"vocab\":3"), maum::FormatError);
  // A repeated "model": the last one counts (here one without a vocabulary).
  EXPECT_THROW(with(text.size() - 1, ",\"model\":{\"type\":\"WordPiece\"}"), maum::FormatError);
}

// The vocabulary's hash table after a reserve() for far more keys than came (a file repeating
// keys): shrinking rehashes into a smaller table that still finds every key, and only those.
TEST(VocabTable, ReserveThenShrinkKeepsEveryKey) {
  maum::tokenizer_detail::VocabTable table;
  table.reserve(100000, 1 << 20);
  EXPECT_TRUE(table.insert("a", 5));
  EXPECT_TRUE(table.insert("bb", 7));
  EXPECT_FALSE(table.insert("a", 9));  // the first id stays
  for (int i = 0; i < 200; ++i) EXPECT_TRUE(table.insert("k" + std::to_string(i), 100 + i));
  table.shrink_to_fit();
  EXPECT_EQ(table.size(), 202u);
  EXPECT_EQ(table.find("a", 1), 5);
  EXPECT_EQ(table.find("bb", 2), 7);
  for (int i = 0; i < 200; ++i) {
    const std::string key = "k" + std::to_string(i);
    EXPECT_EQ(table.find(key.data(), key.size()), 100 + i);
  }
  EXPECT_EQ(table.find("c", 1), -1);
  EXPECT_EQ(table.find("k200", 4), -1);
}

// Issue 9.11: wrong-typed JSON in an embedded tokenizer ended as "internal error" (a JSON library
// exception); it is a FormatError naming the field. A special-token id of 2^32 + 2 wrapped to 2.
TEST(Tokenizer, WrongTypesAreFormatErrorsNamingTheField) {
  auto expect = [](const std::function<void(nlohmann::json&)>& edit, const std::string& field) {
    SCOPED_TRACE(field);
    nlohmann::json j = nlohmann::json::parse(english().serialize());
    edit(j);
    try {
      Tokenizer::from_serialized(j.dump());
      ADD_FAILURE() << "accepted";
    } catch (const maum::FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a FormatError: " << e.what();
    }
  };
  expect([](auto& j) { j["normalizer"]["clean_text"] = "yes"; }, "normalizer.clean_text");
  expect([](auto& j) { j["normalizer"]["lowercase"] = 1; }, "normalizer.lowercase");
  expect([](auto& j) { j["model"]["type"] = 3; }, "model.type");
  expect([](auto& j) { j["model"]["unk_token"] = 100; }, "model.unk_token");
  expect([](auto& j) { j["model"]["max_input_chars_per_word"] = "many"; }, "model.max_input_chars_per_word");
  expect([](auto& j) { j["post_processor"]["single"][0]["SpecialToken"]["type_id"] = "0"; },
         "post_processor.single.SpecialToken.type_id");
  expect([](auto& j) { j["post_processor"]["single"][0]["SpecialToken"]["id"] = 101; },
         "post_processor.single.SpecialToken.id");
  expect([](auto& j) { j["post_processor"]["special_tokens"]["[CLS]"]["tokens"] = {7}; },
         "post_processor.special_tokens[\"[CLS]\"].tokens");
  expect([](auto& j) { j["post_processor"]["special_tokens"]["[CLS]"]["ids"] = {(int64_t{1} << 32) + 2}; },
         "post_processor.special_tokens[\"[CLS]\"].ids must be an integer in [0, 2147483647]");
  expect([](auto& j) { j["post_processor"]["special_tokens"]["[CLS]"]["ids"] = {-1}; }, "must be an integer");
  expect([](auto& j) { j["added_tokens"][0]["special"] = "true"; }, ".special must be true or false");
  expect([](auto& j) { j["decoder"]["cleanup"] = "no"; }, "decoder.cleanup");
}

}  // namespace

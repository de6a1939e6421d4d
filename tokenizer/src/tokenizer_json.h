// A tokenizer.json document as the loader reads it (load.cpp): parsed with nlohmann's SAX
// interface into the usual json value, except the entries of "model": {"vocab": {...}}, which are
// kept as a list in file order. A std::map-backed json object of a 32,000-token vocabulary took
// two-thirds of the parse (~17 of 25 ms on Zen 3), and every process that loads a model pays it.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace maum::tokenizer_detail {

struct TokenizerJson {
  // The document without model.vocab when that is an object (as given otherwise).
  nlohmann::json doc;
  // model.vocab's (token, id) entries in file order, when it is an object: a token given twice
  // appears twice, and the later one counts, as in a JSON object.
  std::optional<std::vector<std::pair<std::string, nlohmann::json>>> vocab;
};

// Throws FormatError "<where>: invalid JSON: ..." for text that is not JSON.
TokenizerJson parse_tokenizer_json(std::string_view text, const std::string& where);

}  // namespace maum::tokenizer_detail

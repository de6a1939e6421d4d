// Internal: escaping text for XML/SVG output (attribute values and character data).
#pragma once
#include <string>

namespace maum::core {

inline std::string xml_escape(const std::string& s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    if (c == '&') o += "&amp;";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '"') o += "&quot;";
    else if (c == '\'') o += "&apos;";
    else o += c;
  }
  return o;
}

}  // namespace maum::core

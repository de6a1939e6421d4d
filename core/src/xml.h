// Internal: escaping text for XML/SVG output (attribute values and character data) and the
// opening of the charts maum draws (reliability diagram, emotion timeline).
#pragma once
#include <iomanip>
#include <ostream>
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

// <svg ...> of size w x h (sans-serif 12 px) on a white background; numbers with 2 decimals from
// here on. The caller closes it with "</svg>\n".
inline void open_svg(std::ostream& s, double w, double h) {
  s << std::fixed << std::setprecision(2);
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" viewBox=\"0 0 " << w << " " << h << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
}

}  // namespace maum::core

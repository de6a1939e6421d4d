// Classification reports, calibration error, temperature scaling and the labelled-TSV reader
// (maum/metrics.h).
#include "maum/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/src/files.h"
#include "core/src/temperature.h"
#include "maum/error.h"
#include "core/src/xml.h"

namespace maum {
namespace {

using OrderedJson = nlohmann::ordered_json;

struct Counts {
  size_t tp = 0, fp = 0, fn = 0;
};

double ratio(size_t num, size_t den) {
  return den ? static_cast<double>(num) / static_cast<double>(den) : 0.0;
}

LabelScores scores_of(const Counts& c) {
  LabelScores s;
  s.precision = ratio(c.tp, c.tp + c.fp);
  s.recall = ratio(c.tp, c.tp + c.fn);
  // sklearn: F = 2TP / (2TP + FP + FN), 0 when undefined (zero_division=0).
  s.f1 = ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn);
  s.support = c.tp + c.fn;
  return s;
}

void fill_averages(ClassificationReport& r, const std::vector<Counts>& counts) {
  Counts total;
  size_t support = 0;
  const double k = static_cast<double>(counts.size());
  for (size_t i = 0; i < counts.size(); ++i) {
    const LabelScores s = scores_of(counts[i]);
    r.per_label.push_back(s);
    total.tp += counts[i].tp;
    total.fp += counts[i].fp;
    total.fn += counts[i].fn;
    support += s.support;
    r.macro.precision += s.precision / k;
    r.macro.recall += s.recall / k;
    r.macro.f1 += s.f1 / k;
  }
  for (const LabelScores& s : r.per_label) {
    const double w = support ? static_cast<double>(s.support) / static_cast<double>(support) : 0;
    r.weighted.precision += w * s.precision;
    r.weighted.recall += w * s.recall;
    r.weighted.f1 += w * s.f1;
  }
  r.micro = scores_of(total);
  r.macro.support = r.weighted.support = r.micro.support = support;
}

// Terminal cells a UTF-8 string takes: East Asian wide characters (Hangul, CJK, full-width forms)
// count 2, other code points 1.
size_t display_width(const std::string& s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    char32_t cp = c;
    if (len > 1 && i + len <= s.size()) {
      cp = c & (0x7F >> len);
      for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    } else {
      len = 1;
    }
    const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
                      (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                      (cp >= 0xFF00 && cp <= 0xFF60) || (cp >= 0xFFE0 && cp <= 0xFFE6);
    width += wide ? 2 : 1;
    i += len;
  }
  return width;
}

std::string pad_left(const std::string& s, size_t width) {
  const size_t w = display_width(s);
  return w >= width ? s : std::string(width - w, ' ') + s;
}

}  // namespace

ClassificationReport single_label_report(const std::vector<size_t>& truth,
                                         const std::vector<size_t>& predicted,
                                         const std::vector<std::string>& labels) {
  if (truth.size() != predicted.size())
    throw InvalidArgument("classification report: " + std::to_string(truth.size()) +
                          " true labels for " + std::to_string(predicted.size()) + " predictions");
  const size_t k = labels.size();
  ClassificationReport r;
  r.labels = labels;
  r.samples = truth.size();
  r.confusion.assign(k, std::vector<size_t>(k, 0));
  std::vector<Counts> counts(k);
  size_t correct = 0;
  for (size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] >= k || predicted[i] >= k)
      throw InvalidArgument("classification report: label index out of range at sample " +
                            std::to_string(i));
    ++r.confusion[truth[i]][predicted[i]];
    if (truth[i] == predicted[i]) {
      ++counts[truth[i]].tp;
      ++correct;
    } else {
      ++counts[predicted[i]].fp;
      ++counts[truth[i]].fn;
    }
  }
  r.accuracy = ratio(correct, truth.size());
  fill_averages(r, counts);
  return r;
}

ClassificationReport multi_label_report(const std::vector<std::vector<size_t>>& truth,
                                        const std::vector<std::vector<size_t>>& predicted,
                                        const std::vector<std::string>& labels) {
  if (truth.size() != predicted.size())
    throw InvalidArgument("classification report: " + std::to_string(truth.size()) +
                          " true label sets for " + std::to_string(predicted.size()) +
                          " predictions");
  const size_t k = labels.size();
  ClassificationReport r;
  r.labels = labels;
  r.samples = truth.size();
  r.multi_label = true;
  std::vector<Counts> counts(k);
  size_t exact = 0;
  std::vector<char> t(k), p(k);
  for (size_t i = 0; i < truth.size(); ++i) {
    std::fill(t.begin(), t.end(), 0);
    std::fill(p.begin(), p.end(), 0);
    for (size_t l : truth[i]) {
      if (l >= k) throw InvalidArgument("classification report: true label out of range");
      t[l] = 1;
    }
    for (size_t l : predicted[i]) {
      if (l >= k) throw InvalidArgument("classification report: predicted label out of range");
      p[l] = 1;
    }
    exact += t == p;
    for (size_t l = 0; l < k; ++l) {
      if (t[l] && p[l]) ++counts[l].tp;
      else if (p[l]) ++counts[l].fp;
      else if (t[l]) ++counts[l].fn;
    }
  }
  r.accuracy = ratio(exact, truth.size());
  fill_averages(r, counts);
  return r;
}

std::string ClassificationReport::to_text() const {
  size_t width = 12;
  for (const auto& l : labels) width = std::max(width, l.size());
  std::ostringstream out;
  out << std::fixed << std::setprecision(4);
  auto row = [&](const std::string& name, const LabelScores& s) {
    out << std::setw(static_cast<int>(width)) << name << "  " << std::setw(9) << s.precision
        << " " << std::setw(9) << s.recall << " " << std::setw(9) << s.f1 << " " << std::setw(9)
        << s.support << "\n";
  };
  out << std::setw(static_cast<int>(width)) << "" << "  " << std::setw(9) << "precision" << " "
      << std::setw(9) << "recall" << " " << std::setw(9) << "f1-score" << " " << std::setw(9)
      << "support" << "\n\n";
  for (size_t i = 0; i < labels.size(); ++i) row(labels[i], per_label[i]);
  out << "\n"
      << std::setw(static_cast<int>(width)) << (multi_label ? "subset acc" : "accuracy") << "  "
      << std::setw(9) << "" << " " << std::setw(9) << "" << " " << std::setw(9) << accuracy << " "
      << std::setw(9) << samples << "\n";
  row("micro avg", micro);
  row("macro avg", macro);
  row("weighted avg", weighted);
  if (!multi_label && !confusion.empty()) {
    // Columns as wide as the longest label (in terminal cells) so each is headed by its name.
    size_t cell = 6, name = 4;
    for (const auto& l : labels) {
      cell = std::max(cell, display_width(l));
      name = std::max(name, display_width(l));
    }
    out << "\nconfusion matrix (rows: true, columns: predicted)\n";
    out << pad_left("true \\ pred", name);
    for (const auto& l : labels) out << "  " << pad_left(l, cell);
    out << "\n";
    for (size_t r = 0; r < confusion.size(); ++r) {
      out << pad_left(labels[r], name);
      for (size_t c = 0; c < confusion[r].size(); ++c)
        out << "  " << pad_left(std::to_string(confusion[r][c]), cell);
      out << "\n";
    }
  }
  return out.str();
}

std::string ClassificationReport::to_json() const {
  auto scores = [](const LabelScores& s) {
    OrderedJson j;
    j["precision"] = s.precision;
    j["recall"] = s.recall;
    j["f1"] = s.f1;
    j["support"] = s.support;
    return j;
  };
  OrderedJson j;
  j["samples"] = samples;
  j["multi_label"] = multi_label;
  j[multi_label ? "subset_accuracy" : "accuracy"] = accuracy;
  OrderedJson per = OrderedJson::object();
  for (size_t i = 0; i < labels.size(); ++i) per[labels[i]] = scores(per_label[i]);
  j["per_label"] = std::move(per);
  j["micro"] = scores(micro);
  j["macro"] = scores(macro);
  j["weighted"] = scores(weighted);
  if (!multi_label) j["confusion"] = confusion;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Calibration calibration(const std::vector<double>& confidence, const std::vector<bool>& correct,
                        size_t bins) {
  if (confidence.size() != correct.size())
    throw InvalidArgument("calibration: confidences and outcomes differ in length");
  if (bins == 0) throw InvalidArgument("calibration: need at least one bin");
  Calibration c;
  c.bins.resize(bins);
  const double b = static_cast<double>(bins);
  for (size_t i = 0; i < bins; ++i) {
    c.bins[i].lower = static_cast<double>(i) / b;
    c.bins[i].upper = static_cast<double>(i + 1) / b;
  }
  std::vector<double> conf_sum(bins, 0.0), hits(bins, 0.0);
  for (size_t i = 0; i < confidence.size(); ++i) {
    const double p = std::min(1.0, std::max(0.0, confidence[i]));
    // Bin (lower, upper]; p = 0 goes to the first bin. Fix up rounding at the edges.
    size_t k = p <= 0 ? 0 : static_cast<size_t>(std::ceil(p * b)) - 1;
    k = std::min(k, bins - 1);
    while (k > 0 && p <= c.bins[k].lower) --k;
    while (k + 1 < bins && p > c.bins[k].upper) ++k;
    ++c.bins[k].count;
    conf_sum[k] += p;
    hits[k] += correct[i] ? 1.0 : 0.0;
  }
  const double n = static_cast<double>(confidence.size());
  for (size_t k = 0; k < bins; ++k) {
    ReliabilityBin& bin = c.bins[k];
    if (!bin.count) continue;
    const double cnt = static_cast<double>(bin.count);
    bin.mean_confidence = conf_sum[k] / cnt;
    bin.accuracy = hits[k] / cnt;
    c.ece += (cnt / n) * std::fabs(bin.accuracy - bin.mean_confidence);
  }
  return c;
}

std::string reliability_svg(const Calibration& cal, const std::string& title,
                            const std::vector<std::string>& notes) {
  // Text lines: the title (14 px) and the notes (11 px) above the plot; the legend right of it.
  // Lines longer than fit are shortened in the middle ("…"), so a long path keeps both ends.
  const double size = 400, left = 60, right = 200, bottom = 50;
  const double line_height = 16, title_top = 22;
  const double top = title_top + line_height * static_cast<double>(notes.size()) + 20;
  const double w = left + size + right, h = top + size + bottom;
  auto x = [&](double v) { return left + v * size; };
  auto y = [&](double v) { return top + (1 - v) * size; };
  const auto esc = core::xml_escape;
  // Average glyph width ~0.6 em (wide characters count 2 cells of ~0.6 em each).
  auto fit = [&](const std::string& s, double font_px) {
    const size_t max_cells = static_cast<size_t>((w - 20) / (0.6 * font_px));
    if (display_width(s) <= max_cells) return s;
    // Keep whole code points: cut at UTF-8 boundaries, half the budget from each end.
    const size_t keep = (max_cells - 1) / 2;
    size_t head = 0, cells = 0;
    while (head < s.size()) {
      size_t next = head + 1;
      while (next < s.size() && (static_cast<unsigned char>(s[next]) & 0xC0) == 0x80) ++next;
      const size_t c = display_width(s.substr(head, next - head));
      if (cells + c > keep) break;
      cells += c;
      head = next;
    }
    size_t tail = s.size();
    cells = 0;
    while (tail > head) {
      size_t prev = tail - 1;
      while (prev > head && (static_cast<unsigned char>(s[prev]) & 0xC0) == 0x80) --prev;
      const size_t c = display_width(s.substr(prev, tail - prev));
      if (cells + c > keep) break;
      cells += c;
      tail = prev;
    }
    return s.substr(0, head) + "\xE2\x80\xA6" + s.substr(tail);
  };
  std::ostringstream s;
  core::open_svg(s, w, h);
  std::ostringstream heading;
  heading << title << " (ECE " << std::fixed << std::setprecision(4) << cal.ece << ")";
  s << "<text x=\"10\" y=\"" << title_top << "\" font-size=\"14\">" << esc(fit(heading.str(), 14))
    << "</text>\n";
  for (size_t i = 0; i < notes.size(); ++i)
    s << "<text x=\"10\" y=\"" << title_top + line_height * static_cast<double>(i + 1)
      << "\" font-size=\"11\" fill=\"#333\">" << esc(fit(notes[i], 11)) << "</text>\n";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << size << "\" height=\"" << size
    << "\" fill=\"none\" stroke=\"black\"/>\n";
  for (const ReliabilityBin& b : cal.bins) {
    if (!b.count) continue;
    const double bw = (b.upper - b.lower) * size;
    // Bar: accuracy; red outline: the gap to the mean confidence.
    s << "<rect x=\"" << x(b.lower) << "\" y=\"" << y(b.accuracy) << "\" width=\"" << bw
      << "\" height=\"" << b.accuracy * size
      << "\" fill=\"#4a7bd0\" stroke=\"white\"><title>(" << b.lower << ", " << b.upper
      << "]: n=" << b.count << ", accuracy " << b.accuracy << ", confidence " << b.mean_confidence
      << "</title></rect>\n";
    const double lo = std::min(b.accuracy, b.mean_confidence),
                 hi = std::max(b.accuracy, b.mean_confidence);
    s << "<rect x=\"" << x(b.lower) << "\" y=\"" << y(hi) << "\" width=\"" << bw
      << "\" height=\"" << (hi - lo) * size
      << "\" fill=\"#e05050\" fill-opacity=\"0.35\" stroke=\"#e05050\"/>\n";
  }
  s << "<line x1=\"" << x(0) << "\" y1=\"" << y(0) << "\" x2=\"" << x(1) << "\" y2=\"" << y(1)
    << "\" stroke=\"gray\" stroke-dasharray=\"4 4\"/>\n";
  for (int t = 0; t <= 5; ++t) {
    const double v = t / 5.0;
    s << "<text x=\"" << x(v) << "\" y=\"" << top + size + 16 << "\" text-anchor=\"middle\">" << v
      << "</text>\n";
    s << "<text x=\"" << left - 6 << "\" y=\"" << y(v) + 4 << "\" text-anchor=\"end\">" << v
      << "</text>\n";
  }
  s << "<text x=\"" << x(0.5) << "\" y=\"" << h - 10 << "\" text-anchor=\"middle\">confidence</text>\n";
  s << "<text x=\"15\" y=\"" << y(0.5) << "\" text-anchor=\"middle\" transform=\"rotate(-90 15 "
    << y(0.5) << ")\">accuracy</text>\n";
  // Legend, right of the plot.
  const double lx = left + size + 16, ly = top + 10;
  s << "<g class=\"legend\">\n"
    << "<rect x=\"" << lx << "\" y=\"" << ly << "\" width=\"14\" height=\"14\" fill=\"#4a7bd0\"/>\n"
    << "<text x=\"" << lx + 20 << "\" y=\"" << ly + 11 << "\">accuracy per bin</text>\n"
    << "<rect x=\"" << lx << "\" y=\"" << ly + 22 << "\" width=\"14\" height=\"14\" fill=\"#e05050\" "
       "fill-opacity=\"0.35\" stroke=\"#e05050\"/>\n"
    << "<text x=\"" << lx + 20 << "\" y=\"" << ly + 33 << "\">gap to mean confidence</text>\n"
    << "<line x1=\"" << lx << "\" y1=\"" << ly + 51 << "\" x2=\"" << lx + 14 << "\" y2=\"" << ly + 51
    << "\" stroke=\"gray\" stroke-dasharray=\"4 4\"/>\n"
    << "<text x=\"" << lx + 20 << "\" y=\"" << ly + 55 << "\">perfect calibration</text>\n"
    << "</g>\n";
  s << "</svg>\n";
  return s.str();
}

double mean_nll(const std::vector<std::vector<float>>& logits, const std::vector<size_t>& truth,
                double temperature) {
  if (logits.size() != truth.size() || logits.empty())
    throw InvalidArgument("mean_nll: need one true label per logit row (and at least one row)");
  double total = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    const auto& z = logits[i];
    if (truth[i] >= z.size()) throw InvalidArgument("mean_nll: label index out of range");
    double max = -INFINITY;
    for (float v : z) max = std::max(max, v / temperature);
    double sum = 0;
    for (float v : z) sum += std::exp(v / temperature - max);
    total += max + std::log(sum) - z[truth[i]] / temperature;
  }
  return total / static_cast<double>(logits.size());
}

double mean_bce(const std::vector<std::vector<float>>& logits,
                const std::vector<std::vector<size_t>>& truth, double temperature) {
  if (logits.size() != truth.size() || logits.empty())
    throw InvalidArgument("mean_bce: need one label set per logit row (and at least one row)");
  double total = 0;
  size_t terms = 0;
  std::vector<char> positive;
  for (size_t i = 0; i < logits.size(); ++i) {
    positive.assign(logits[i].size(), 0);
    for (size_t l : truth[i]) {
      if (l >= positive.size()) throw InvalidArgument("mean_bce: label index out of range");
      positive[l] = 1;
    }
    for (size_t l = 0; l < logits[i].size(); ++l) {
      const double z = logits[i][l] / temperature;
      // -log sigmoid(z) = softplus(-z); -log(1 - sigmoid(z)) = softplus(z).
      const double s = positive[l] ? -z : z;
      total += s > 0 ? s + std::log1p(std::exp(-s)) : std::log1p(std::exp(s));
      ++terms;
    }
  }
  return total / static_cast<double>(terms);
}

namespace {

template <typename Loss>
double golden_section_log_t(Loss loss) {
  const double phi = (std::sqrt(5.0) - 1) / 2;
  double a = std::log(core::kMinTemperature), b = std::log(core::kMaxTemperature);
  double c = b - phi * (b - a), d = a + phi * (b - a);
  double fc = loss(std::exp(c)), fd = loss(std::exp(d));
  while (b - a > 1e-7) {
    if (fc < fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - phi * (b - a);
      fc = loss(std::exp(c));
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + phi * (b - a);
      fd = loss(std::exp(d));
    }
  }
  return std::exp((a + b) / 2);
}

}  // namespace

double fit_temperature(const std::vector<std::vector<float>>& logits,
                       const std::vector<size_t>& truth) {
  mean_nll(logits, truth, 1.0);  // validates
  return golden_section_log_t([&](double t) { return mean_nll(logits, truth, t); });
}

double fit_temperature_multi_label(const std::vector<std::vector<float>>& logits,
                                   const std::vector<std::vector<size_t>>& truth) {
  mean_bce(logits, truth, 1.0);
  return golden_section_log_t([&](double t) { return mean_bce(logits, truth, t); });
}

// ---------------------------------------------------------------------------------------------
// Labelled TSV

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  size_t b = 0;
  while (true) {
    size_t e = line.find('\t', b);
    out.push_back(line.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return out;
}

bool all_digits(const std::string& s) {
  return !s.empty() && s.size() < 10 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::string trim_ascii(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

}  // namespace

LabelledData read_labelled_tsv(const std::string& path, const TsvOptions& options,
                               const std::vector<std::string>& model_labels) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open " + path);
  std::vector<std::string> header;
  auto column = [&](const std::string& spec, const char* what) -> size_t {
    auto it = std::find(header.begin(), header.end(), spec);
    if (it != header.end()) return static_cast<size_t>(it - header.begin());
    if (all_digits(spec)) return static_cast<size_t>(std::stoul(spec));
    std::string names;
    for (const auto& h : header) names += (names.empty() ? "" : ", ") + h;
    throw InvalidArgument(path + ": no " + what + " column \"" + spec + "\"" +
                          (header.empty() ? " (the file has no header: use a 0-based index)"
                                          : " (columns: " + names + ")"));
  };
  std::string line;
  size_t line_number = 0;
  if (options.header) {
    if (!std::getline(in, line)) throw FormatError(path + ": empty file (expected a header)");
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    header = split_tabs(line);
    if (header.size() == 1 && line.find(',') != std::string::npos)
      throw FormatError(path + ":1: not tab-separated (the header has no tab, but commas: a CSV "
                        "file?); maum reads tab-separated values (TSV)");
  }
  const size_t text_col = column(options.text_column, "text");
  const size_t label_col = column(options.label_column, "label");
  std::vector<std::pair<size_t, std::string>> filters;
  for (const auto& kv : options.where) filters.push_back({column(kv.first, "filter"), kv.second});

  // Label lists in messages: JSON strings, so names with commas or spaces stay unambiguous.
  auto quoted_labels = [&] {
    std::string names;
    for (const auto& l : model_labels)
      names += (names.empty() ? "" : ", ") + nlohmann::json(l).dump(-1, ' ', false,
                                                                   nlohmann::json::error_handler_t::replace);
    return "[" + names + "]";
  };
  auto label_index = [&](const std::string& raw) -> size_t {
    std::string name = raw;
    auto mapped = options.label_names.find(name);
    if (mapped != options.label_names.end()) name = mapped->second;
    auto it = std::find(model_labels.begin(), model_labels.end(), name);
    if (it != model_labels.end()) return static_cast<size_t>(it - model_labels.begin());
    if (all_digits(name)) {
      const size_t idx = std::stoul(name);
      if (idx < model_labels.size()) return idx;
    }
    throw FormatError(path + ":" + std::to_string(line_number) + ": unknown label " +
                      nlohmann::json(raw).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace) +
                      " (model labels: " + quoted_labels() + "; or indices 0-" +
                      std::to_string(model_labels.size() - 1) +
                      "; --label-names maps other names)");
  };

  LabelledData data;
  data.source = path;
  for (const auto& kv : options.where)
    data.selection += (data.selection.empty() ? "" : " and ") + kv.first + "=" + kv.second;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string> cells = split_tabs(line);
    const size_t needed = std::max(text_col, label_col) + 1;
    if (cells.size() < needed && cells.size() == 1 && line.find(',') != std::string::npos)
      throw FormatError(path + ":" + std::to_string(line_number) +
                        ": not tab-separated (no tab, but commas: a CSV file?); maum reads "
                        "tab-separated values (TSV)");
    if (cells.size() < needed)
      throw FormatError(path + ":" + std::to_string(line_number) + ": " +
                        std::to_string(cells.size()) + " columns, expected at least " +
                        std::to_string(needed));
    bool keep = true;
    for (const auto& f : filters)
      keep = keep && f.first < cells.size() && cells[f.first] == f.second;
    if (!keep) continue;
    std::vector<size_t> labels;
    const std::string field = trim_ascii(cells[label_col]);
    if (!options.multi_label) {
      // One label per cell: a comma is part of the name ("가난한, 불우한").
      if (!field.empty()) labels.push_back(label_index(field));
    } else if (!field.empty() && field.front() == '[') {
      nlohmann::json list;
      try {
        list = nlohmann::json::parse(field);
      } catch (const nlohmann::json::exception& e) {
        throw FormatError(path + ":" + std::to_string(line_number) +
                          ": malformed JSON label list: " + e.what());
      }
      if (!list.is_array())
        throw FormatError(path + ":" + std::to_string(line_number) +
                          ": a label list must be a JSON array");
      for (const auto& v : list) {
        if (v.is_string())
          labels.push_back(label_index(v.get<std::string>()));
        else if (v.is_number_unsigned())
          labels.push_back(label_index(std::to_string(v.get<unsigned long long>())));
        else
          throw FormatError(path + ":" + std::to_string(line_number) +
                            ": a label list holds label names (strings) or indices");
      }
    } else {
      size_t b = 0;
      while (b <= field.size()) {
        size_t e = field.find(',', b);
        if (e == std::string::npos) e = field.size();
        const std::string token = trim_ascii(field.substr(b, e - b));
        if (!token.empty()) labels.push_back(label_index(token));
        b = e + 1;
      }
    }
    if (labels.empty())
      throw FormatError(path + ":" + std::to_string(line_number) + ": empty label");
    std::sort(labels.begin(), labels.end());
    labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
    data.texts.push_back(cells[text_col]);
    data.labels.push_back(std::move(labels));
    data.line_numbers.push_back(line_number);
  }
  if (in.bad()) throw IoError("cannot read " + path);
  return data;
}

std::map<std::string, std::string> read_label_names(const std::string& path) {
  const nlohmann::json j = core::read_json_file(path);
  if (!j.is_object()) throw FormatError(path + ": expected {\"data label\": \"model label\", ...}");
  std::map<std::string, std::string> names;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_string()) throw FormatError(path + ": value of \"" + it.key() + "\" must be a string");
    names[it.key()] = it.value().get<std::string>();
  }
  return names;
}

}  // namespace maum

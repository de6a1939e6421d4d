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

#include "core/src/temperature.h"
#include "maum/error.h"

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
    out << "\nconfusion matrix (rows: true, columns: predicted; label order as above)\n";
    for (const auto& r : confusion) {
      for (size_t c = 0; c < r.size(); ++c) out << (c ? " " : "") << std::setw(6) << r[c];
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

std::string reliability_svg(const Calibration& cal, const std::string& title) {
  const double size = 400, left = 60, top = 40, bottom = 50, right = 20;
  const double w = left + size + right, h = top + size + bottom;
  auto x = [&](double v) { return left + v * size; };
  auto y = [&](double v) { return top + (1 - v) * size; };
  auto esc = [](const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c == '&') o += "&amp;";
      else if (c == '<') o += "&lt;";
      else if (c == '>') o += "&gt;";
      else if (c == '"') o += "&quot;";
      else o += c;
    }
    return o;
  };
  std::ostringstream s;
  s << std::fixed << std::setprecision(2);
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w << "\" height=\"" << h
    << "\" viewBox=\"0 0 " << w << " " << h << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  s << "<text x=\"" << w / 2 << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << esc(title)
    << " (ECE " << std::setprecision(4) << cal.ece << std::setprecision(2) << ")</text>\n";
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
  }
  const size_t text_col = column(options.text_column, "text");
  const size_t label_col = column(options.label_column, "label");
  std::vector<std::pair<size_t, std::string>> filters;
  for (const auto& kv : options.where) filters.push_back({column(kv.first, "filter"), kv.second});

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
    std::string names;
    for (const auto& l : model_labels) names += (names.empty() ? "" : ", ") + l;
    throw FormatError(path + ":" + std::to_string(line_number) + ": unknown label \"" + raw +
                      "\" (model labels: " + names + "; or indices 0-" +
                      std::to_string(model_labels.size() - 1) +
                      "; --label-names maps other names)");
  };

  LabelledData data;
  data.source = path;
  while (std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string> cells = split_tabs(line);
    const size_t needed = std::max(text_col, label_col) + 1;
    if (cells.size() < needed)
      throw FormatError(path + ":" + std::to_string(line_number) + ": " +
                        std::to_string(cells.size()) + " columns, expected at least " +
                        std::to_string(needed));
    bool keep = true;
    for (const auto& f : filters)
      keep = keep && f.first < cells.size() && cells[f.first] == f.second;
    if (!keep) continue;
    std::vector<size_t> labels;
    const std::string& field = cells[label_col];
    size_t b = 0;
    while (b <= field.size()) {
      size_t e = field.find(',', b);
      if (e == std::string::npos) e = field.size();
      const std::string token = trim_ascii(field.substr(b, e - b));
      if (!token.empty()) labels.push_back(label_index(token));
      b = e + 1;
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

}  // namespace maum

// Evaluation and calibration metrics (docs/ANALYSIS.md): classification reports with the same
// numbers as scikit-learn's classification_report (zero_division = 0), expected calibration error
// with a reliability diagram, temperature scaling, and the labelled-TSV reader `maum eval` uses.
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace maum {

struct LabelScores {
  double precision = 0, recall = 0, f1 = 0;
  size_t support = 0;
};

struct ClassificationReport {
  std::vector<std::string> labels;
  std::vector<LabelScores> per_label;
  LabelScores macro, micro, weighted;  // support of each = total support
  // Single-label: fraction of correct predictions. Multi-label: subset accuracy (the predicted
  // label set equals the true set), as sklearn's accuracy_score on indicator matrices.
  double accuracy = 0;
  size_t samples = 0;
  bool multi_label = false;
  std::vector<std::vector<size_t>> confusion;  // single-label: [true][predicted]

  std::string to_text() const;  // a table like sklearn's classification_report (+ confusion)
  std::string to_json() const;
};

// Every label in `labels` is reported (labels with no support and no predictions score 0, as
// sklearn does when given labels=range(K)). Classes are indices into labels.
ClassificationReport single_label_report(const std::vector<size_t>& truth,
                                         const std::vector<size_t>& predicted,
                                         const std::vector<std::string>& labels);
ClassificationReport multi_label_report(const std::vector<std::vector<size_t>>& truth,
                                        const std::vector<std::vector<size_t>>& predicted,
                                        const std::vector<std::string>& labels);

struct ReliabilityBin {
  double lower = 0, upper = 0;
  size_t count = 0;
  double mean_confidence = 0, accuracy = 0;  // accuracy: fraction correct (or positive)
};
struct Calibration {
  std::vector<ReliabilityBin> bins;
  double ece = 0;  // sum_b (n_b / N) |accuracy_b - confidence_b|
};
// Equal-width bins on [0, 1]; bin b holds confidences in (b/B, (b+1)/B] (0 goes to the first bin),
// as in Guo et al. 2017. `correct[i]` is 1 when prediction i was right (single-label: top label
// is the true one) — for multi-label pass every (sample, label) probability and whether that
// label is true.
Calibration calibration(const std::vector<double>& confidence, const std::vector<bool>& correct,
                        size_t bins = 15);
// A self-contained SVG reliability diagram (accuracy vs confidence per bin, the gap to the mean
// confidence, the diagonal, a legend). `title` heads it; each of `notes` is one more line under it
// (e.g. the model, the data and its split, the temperature). Long lines are shortened in the
// middle so nothing is clipped.
std::string reliability_svg(const Calibration& calibration, const std::string& title,
                            const std::vector<std::string>& notes = {});

// Mean negative log-likelihood of the true labels under softmax(logits / temperature).
double mean_nll(const std::vector<std::vector<float>>& logits, const std::vector<size_t>& truth,
                double temperature);
// Multi-label: mean binary cross-entropy over every (sample, label) of sigmoid(logits / T).
double mean_bce(const std::vector<std::vector<float>>& logits,
                const std::vector<std::vector<size_t>>& truth, double temperature);
// The temperature minimising mean_nll (fit_temperature_multi_label: mean_bce), found by
// golden-section search on log T in [1/100, 100] to |d log T| < 1e-7 (the NLL is convex in 1/T,
// hence unimodal in log T).
double fit_temperature(const std::vector<std::vector<float>>& logits,
                       const std::vector<size_t>& truth);
double fit_temperature_multi_label(const std::vector<std::vector<float>>& logits,
                                   const std::vector<std::vector<size_t>>& truth);

// A labelled TSV (tab-separated, UTF-8, optional header). Columns are named by header name or by
// 0-based index. A label is a name or an index. Single-label data: the whole cell is one label
// (names may contain commas, e.g. "가난한, 불우한"). Multi-label data: a JSON array of names or
// indices (["a", "b, c"]), or names/indices separated by commas.
struct TsvOptions {
  bool header = true;
  std::string text_column = "text";
  std::string label_column = "label";
  std::map<std::string, std::string> where;  // keep rows whose column equals value
  std::map<std::string, std::string> label_names;  // data's label name -> model's label name
  bool multi_label = false;  // several labels per row (see above); else one label per cell
};
struct LabelledData {
  std::string source;                       // the file's path
  std::string selection;                    // the row filter, e.g. "fold=9" (empty: every row)
  std::vector<std::string> texts;
  std::vector<std::vector<size_t>> labels;  // indices into the model's labels, ascending, unique
  std::vector<size_t> line_numbers;         // 1-based line of each row in the file
};
// A JSON file {"data label": "model label", ...} for TsvOptions::label_names. Throws IoError /
// FormatError naming the file.
std::map<std::string, std::string> read_label_names(const std::string& path);
// Throws IoError / FormatError naming the file, line and column; an unknown label is an error.
LabelledData read_labelled_tsv(const std::string& path, const TsvOptions& options,
                               const std::vector<std::string>& model_labels);

}  // namespace maum

// Unit tests of maum/metrics.h with hand-computed expected values.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "maum/error.h"
#include "maum/metrics.h"

namespace maum {
namespace {

TEST(Report, SingleLabelAverages) {
  // truth 0 0 1 1 2, predicted 0 1 1 1 0.
  // label 0: TP 1 FP 1 FN 1 -> P 1/2, R 1/2, F1 1/2, support 2
  // label 1: TP 2 FP 1 FN 0 -> P 2/3, R 1,   F1 4/5, support 2
  // label 2: TP 0 FP 0 FN 1 -> P 0 (zero division), R 0, F1 0, support 1
  const auto r = single_label_report({0, 0, 1, 1, 2}, {0, 1, 1, 1, 0}, {"a", "b", "c"});
  EXPECT_NEAR(r.accuracy, 0.6, 1e-12);
  EXPECT_NEAR(r.per_label[1].precision, 2.0 / 3, 1e-12);
  EXPECT_NEAR(r.per_label[1].f1, 0.8, 1e-12);
  EXPECT_EQ(r.per_label[2].support, 1u);
  EXPECT_DOUBLE_EQ(r.per_label[2].precision, 0.0);
  EXPECT_NEAR(r.macro.precision, (0.5 + 2.0 / 3) / 3, 1e-12);
  EXPECT_NEAR(r.macro.recall, 0.5, 1e-12);
  EXPECT_NEAR(r.macro.f1, 1.3 / 3, 1e-12);
  EXPECT_NEAR(r.weighted.precision, (1 + 4.0 / 3) / 5, 1e-12);
  EXPECT_NEAR(r.weighted.recall, 0.6, 1e-12);
  EXPECT_NEAR(r.weighted.f1, 0.52, 1e-12);
  // Micro: TP 3, FP 2, FN 2 -> 0.6 (= accuracy for single-label).
  EXPECT_NEAR(r.micro.f1, 0.6, 1e-12);
  EXPECT_EQ(r.micro.support, 5u);
  EXPECT_EQ(r.confusion[2][0], 1u);
  EXPECT_EQ(r.confusion[0][1], 1u);
  EXPECT_EQ(r.confusion[1][1], 2u);
  EXPECT_NE(r.to_text().find("macro avg"), std::string::npos);
  EXPECT_NE(r.to_json().find("\"confusion\""), std::string::npos);
  EXPECT_THROW(single_label_report({0}, {0, 1}, {"a", "b"}), InvalidArgument);
  EXPECT_THROW(single_label_report({0}, {5}, {"a", "b"}), InvalidArgument);
}

TEST(Report, MultiLabel) {
  // Sample 1: true {0, 1}, predicted {0}     -> label 0 TP, label 1 FN
  // Sample 2: true {2},    predicted {1, 2}  -> label 1 FP, label 2 TP
  // Sample 3: true {1},    predicted {1}     -> label 1 TP (only exact match)
  // label 0: P 1 R 1 F 1; label 1: TP 1 FP 1 FN 1 -> 1/2 each; label 2: 1 1 1.
  const auto r = multi_label_report({{0, 1}, {2}, {1}}, {{0}, {1, 2}, {1}}, {"a", "b", "c"});
  EXPECT_TRUE(r.multi_label);
  EXPECT_NEAR(r.accuracy, 1.0 / 3, 1e-12);
  EXPECT_NEAR(r.per_label[1].f1, 0.5, 1e-12);
  EXPECT_NEAR(r.macro.f1, 2.5 / 3, 1e-12);
  // Micro: TP 3 FP 1 FN 1 -> P = R = F1 = 3/4.
  EXPECT_NEAR(r.micro.f1, 0.75, 1e-12);
  // Weighted by support (1, 2, 1): (1 + 2 * 0.5 + 1) / 4.
  EXPECT_NEAR(r.weighted.f1, 0.75, 1e-12);
  EXPECT_TRUE(r.confusion.empty());
}

TEST(Ece, HandComputed) {
  // 15 bins. 0.95 -> bin (14/15, 1]: accuracy 1/2, confidence 0.95;
  // 0.55 -> bin (8/15, 9/15]: accuracy 1, confidence 0.55. ECE = 0.5 * 0.45 + 0.5 * 0.45.
  const auto c = calibration({0.95, 0.95, 0.55, 0.55}, {true, false, true, true}, 15);
  EXPECT_NEAR(c.ece, 0.45, 1e-12);
  EXPECT_EQ(c.bins[14].count, 2u);
  EXPECT_EQ(c.bins[8].count, 2u);
  // Bin edges: (lower, upper]; exactly 1/15 belongs to the first bin, 0 too.
  const auto e = calibration({0.0, 1.0 / 15, 1.0}, {false, false, true}, 15);
  EXPECT_EQ(e.bins[0].count, 2u);
  EXPECT_EQ(e.bins[14].count, 1u);
  // Perfect calibration: confidence 0.75 with 3 of 4 correct.
  EXPECT_NEAR(calibration({0.75, 0.75, 0.75, 0.75}, {true, true, true, false}).ece, 0.0, 1e-12);
  const std::string svg = reliability_svg(c, "test <model>", {"temperature 1.5", "fold=9"});
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("test &lt;model&gt;"), std::string::npos);
  EXPECT_NE(svg.find("temperature 1.5"), std::string::npos);
  EXPECT_NE(svg.find("fold=9"), std::string::npos);
  EXPECT_NE(svg.find("accuracy per bin"), std::string::npos);  // the legend
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  // A line longer than the diagram is shortened in the middle, keeping both ends.
  const std::string long_path = "/start/" + std::string(300, 'x') + "/end.safetensors";
  const std::string shortened = reliability_svg(c, "t", {long_path});
  EXPECT_EQ(shortened.find(long_path), std::string::npos);
  EXPECT_NE(shortened.find("/start/"), std::string::npos);
  EXPECT_NE(shortened.find("/end.safetensors"), std::string::npos);
  EXPECT_NE(shortened.find("\xE2\x80\xA6"), std::string::npos);
}

TEST(Temperature, NllAndFit) {
  // One sample, logits (0, ln 3), true label 1: NLL at T = 1 is -ln(3/4).
  EXPECT_NEAR(mean_nll({{0.0f, static_cast<float>(std::log(3.0))}}, {1}, 1.0), -std::log(0.75),
              1e-7);
  // Two samples with the same logits (2, 0), one labelled 0 and one 1, plus one labelled 0:
  // p = softmax(2/T) of the first class must equal 2/3 at the optimum: 2/T = ln 2 -> T = 2 / ln 2.
  const std::vector<std::vector<float>> z = {{2, 0}, {2, 0}, {2, 0}};
  const double t = fit_temperature(z, {0, 0, 1});
  EXPECT_NEAR(t, 2 / std::log(2.0), 1e-5);
  // Binary cross-entropy: logit 2 for a label positive 3 times of 4 -> sigmoid(2/T) = 3/4,
  // T = 2 / ln 3.
  const double tb = fit_temperature_multi_label({{2}, {2}, {2}, {2}}, {{0}, {0}, {0}, {}});
  EXPECT_NEAR(tb, 2 / std::log(3.0), 1e-5);
  EXPECT_THROW(mean_nll({{1, 2}}, {2}, 1.0), InvalidArgument);
}

class TsvTest : public ::testing::Test {
 protected:
  std::string write(const std::string& content) {
    path_ = (std::filesystem::temp_directory_path() /
             ("maum-tsv-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
              "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".tsv"))
                .string();
    std::ofstream(path_) << content;
    return path_;
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST_F(TsvTest, HeaderNamesFilterAndLabelNames) {
  const std::string p = write("id\ttext\tlabel\tfold\n0\t좋다\t행복\t9\n1\t싫다\t혐오\t8\r\n\n2\t무섭다\t0\t9\n");
  TsvOptions o;
  o.where["fold"] = "9";
  o.label_names = {{"행복", "happiness"}, {"혐오", "disgust"}};
  const auto d = read_labelled_tsv(p, o, {"fear", "happiness", "disgust"});
  ASSERT_EQ(d.texts.size(), 2u);
  EXPECT_EQ(d.texts[0], "좋다");
  EXPECT_EQ(d.labels[0], (std::vector<size_t>{1}));
  EXPECT_EQ(d.labels[1], (std::vector<size_t>{0}));  // index 0
  EXPECT_EQ(d.line_numbers[1], 5u);
  o.label_names.clear();
  try {
    read_labelled_tsv(p, o, {"fear", "happiness", "disgust"});
    FAIL() << "expected an unknown-label error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(":2: unknown label \"행복\""), std::string::npos)
        << e.what();
  }
  o.text_column = "body";
  EXPECT_THROW(read_labelled_tsv(p, o, {"fear"}), InvalidArgument);
}

TEST_F(TsvTest, NoHeaderMultiLabelIndices) {
  const std::string p = write("hello\t2,0\tid1\nbye\t1\tid2\nshort\n");
  TsvOptions o;
  o.header = false;
  o.text_column = "0";
  o.label_column = "1";
  o.multi_label = true;
  try {
    read_labelled_tsv(p, o, {"a", "b", "c"});
    FAIL() << "expected a short-row error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find(":3:"), std::string::npos) << e.what();
  }
  write("hello\t2,0\tid1\nbye\t1\tid2\n");
  const auto d = read_labelled_tsv(path_, o, {"a", "b", "c"});
  EXPECT_EQ(d.labels[0], (std::vector<size_t>{0, 2}));
  EXPECT_EQ(d.labels[1], (std::vector<size_t>{1}));
  EXPECT_THROW(read_labelled_tsv("/nonexistent.tsv", o, {"a"}), IoError);
}

TEST_F(TsvTest, SingleLabelNamesKeepTheirCommas) {
  // S004's label "가난한, 불우한": one label, not two.
  const std::string p = write("text\tlabel\n힘들다\t가난한, 불우한\n좋다\tjoy\n");
  TsvOptions o;
  const std::vector<std::string> labels = {"joy", "가난한, 불우한"};
  const auto d = read_labelled_tsv(p, o, labels);
  EXPECT_EQ(d.labels[0], (std::vector<size_t>{1}));
  EXPECT_EQ(d.labels[1], (std::vector<size_t>{0}));
  // Unknown labels and the label list are quoted, so a comma inside a name is unambiguous.
  write("text\tlabel\n힘들다\t가난한, 불행한\n");
  try {
    read_labelled_tsv(path_, o, labels);
    FAIL() << "expected an unknown-label error";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown label \"가난한, 불행한\" (model labels: [\"joy\", "
                                         "\"가난한, 불우한\"]"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(TsvTest, MultiLabelJsonArrays) {
  const std::string p =
      write("a\t[\"x, y\", \"z\"]\nb\t[0]\nc\tz,0\nd\t[\"z\", 2]\n");
  TsvOptions o;
  o.header = false;
  o.text_column = "0";
  o.label_column = "1";
  o.multi_label = true;
  const auto d = read_labelled_tsv(p, o, {"x, y", "q", "z"});
  EXPECT_EQ(d.labels[0], (std::vector<size_t>{0, 2}));
  EXPECT_EQ(d.labels[1], (std::vector<size_t>{0}));
  EXPECT_EQ(d.labels[2], (std::vector<size_t>{0, 2}));
  EXPECT_EQ(d.labels[3], (std::vector<size_t>{2}));
  write("a\t[\"x\"\n");
  EXPECT_THROW(read_labelled_tsv(path_, o, {"x"}), FormatError);
}

TEST_F(TsvTest, CsvIsNamedAsSuch) {
  TsvOptions o;
  for (bool header : {true, false}) {
    o.header = header;
    o.text_column = header ? "text" : "0";
    o.label_column = header ? "label" : "1";
    write("text,label\n좋다,joy\n");
    try {
      read_labelled_tsv(path_, o, {"joy"});
      FAIL() << "expected a not-tab-separated error";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(":1: not tab-separated"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace maum

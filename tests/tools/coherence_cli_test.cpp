// What a new user sees (issue 10), through the real binary ($MAUM_CLI) on the shared checkpoints:
// one decision per text, validated fusion inputs, classify as a co-process, label names with
// commas, usage errors, progress and output files, entropy units.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/common/cli.h"
#include "tests/common/shared_dir.h"

namespace maum {
namespace {

using testing::RunResult;
using Json = nlohmann::ordered_json;

std::string quote(const std::string& s) { return testing::shell_quote(s); }

std::vector<Json> json_lines(const std::string& out) {
  std::vector<Json> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) lines.push_back(Json::parse(line));
  return lines;
}

class CoherenceCli : public testing::CliSandbox {
 protected:
  static std::string example(const std::string& name) {
    return std::string(MAUM_SOURCE_DIR) + "/analysis/examples/" + name;
  }
  static std::string write(const std::string& name, const std::string& contents) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }
};

// Item 1: every field of a line derives from one decision.
TEST_F(CoherenceCli, PolicyThresholdsDecideTopLevelAndAnalysisAlike) {
  const std::string policy = write(
      "thresholds.json", R"({"threshold":0.3,"thresholds":{"gratitude":0.995,"admiration":0.1}})");
  const std::string text = "I am so happy and grateful, thank you!";
  RunResult r = run("classify --model " + quote(model("en-goemotions-electra-small")) +
                    " --policy " + quote(policy) + " " + quote(text));
  ASSERT_EQ(r.status, 0) << r.err;
  const Json j = Json::parse(r.out);
  const Json& a = j.at("analysis");
  EXPECT_EQ(j.at("predicted"), a.at("predicted"));
  EXPECT_EQ(j.at("top"), a.at("label"));
  EXPECT_EQ(j.at("labels"), a.at("labels"));
  // And the decision is the policy's: p >= the label's threshold.
  std::vector<std::string> expected;
  for (const auto& [label, p] : j.at("labels").items()) {
    const double t = label == "gratitude" ? 0.995 : label == "admiration" ? 0.1 : 0.3;
    if (p.get<double>() >= t) expected.push_back(label);
  }
  EXPECT_EQ(j.at("predicted").get<std::vector<std::string>>(), expected);
}

TEST_F(CoherenceCli, ThresholdOptionOverridesThePolicyInClassifyAndEval) {
  const std::string policy = write("strict.json", R"({"threshold":0.99,"thresholds":{"joy":0.999}})");
  const std::string m = model("en-goemotions-electra-small");
  RunResult r = run("classify --model " + quote(m) + " --policy " + quote(policy) +
                    " --threshold 0.3 " + quote("I am so happy and grateful, thank you!"));
  ASSERT_EQ(r.status, 0) << r.err;
  const Json j = Json::parse(r.out);
  std::vector<std::string> expected;
  for (const auto& [label, p] : j.at("labels").items())
    if (p.get<double>() >= 0.3) expected.push_back(label);
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(j.at("predicted").get<std::vector<std::string>>(), expected);
  EXPECT_EQ(j.at("analysis").at("predicted"), j.at("predicted"));
  // eval makes the same decisions: its micro counts equal those of classify's "predicted" on the
  // same rows (the first 40 of the GoEmotions test set), with the same policy and override.
  std::ifstream test(testing::shared_path("data/goemotions/original/test.tsv"));
  std::string line, texts, rows;
  std::vector<std::set<std::string>> truth;
  std::ifstream config(testing::shared_path("models/en-goemotions-electra-small/config.json"));
  const auto id2label = nlohmann::json::parse(config).at("id2label");
  while (truth.size() < 40 && std::getline(test, line)) {
    rows += line + "\n";
    const size_t tab = line.find('\t');
    texts += line.substr(0, tab) + "\n";
    std::set<std::string> labels;
    std::string field = line.substr(tab + 1, line.find('\t', tab + 1) - tab - 1);
    for (size_t b = 0; b <= field.size();) {
      const size_t e = std::min(field.find(',', b), field.size());
      labels.insert(id2label.at(field.substr(b, e - b)).get<std::string>());
      b = e + 1;
    }
    truth.push_back(labels);
  }
  r = run("classify --model " + quote(m) + " --policy " + quote(policy) + " --threshold 0.3", texts);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), truth.size());
  size_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::set<std::string> predicted;
    for (const auto& l : lines[i].at("predicted")) predicted.insert(l.get<std::string>());
    for (const auto& l : predicted) (truth[i].count(l) ? tp : fp) += 1;
    for (const auto& l : truth[i]) fn += !predicted.count(l);
  }
  r = run("eval --model " + quote(m) + " --policy " + quote(policy) + " --data " +
          quote(write("go40.tsv", rows)) +
          " --no-header --text-col 0 --label-col 1 --threshold 0.3 --json -q");
  ASSERT_EQ(r.status, 0) << r.err;
  const Json micro = Json::parse(r.out).at("report").at("micro");
  EXPECT_NEAR(micro.at("f1").get<double>(),
              2.0 * static_cast<double>(tp) / static_cast<double>(2 * tp + fp + fn), 1e-12);
  EXPECT_GT(tp, 0u);
}

TEST_F(CoherenceCli, FusedLineHasOneLabelSet) {
  const std::string inputs = write("audio.jsonl", R"({"audio": {"HAPPY": 0.1, "SAD": 0.9}})" "\n");
  RunResult r = run("classify --model " + quote(model("ko-emotion7-small")) + " --fuse " +
                    quote(example("text_audio_fusion.json")) + " --fuse-inputs " + quote(inputs) +
                    " " + quote("정말 기쁜 하루였어요!"));
  ASSERT_EQ(r.status, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j.at("top"), j.at("analysis").at("label"));
  EXPECT_EQ(j.at("labels"), j.at("analysis").at("labels"));
  EXPECT_EQ(j.at("labels").size(), 6u);  // the fusion's target labels
  double sum = 0;
  for (const auto& [label, p] : j.at("labels").items()) sum += p.get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-3);
}

// Item 2: fused inputs are probability vectors.
TEST_F(CoherenceCli, FusionInputsAreValidatedWithTheirLine) {
  const std::string m = model("ko-emotion7-small");
  const std::string fuse = quote(example("text_audio_fusion.json"));
  for (const std::string bad : {R"({"audio": {"HAPPY": 0.5, "SAD": 0.9}})", R"({"audio": {}})",
                                R"({"audio": {"HAPPY": -0.1, "SAD": 1.1}})",
                                R"({"audio": [0.2, 0.2, 0.2, 0.2, 0.2, 1e999]})"}) {
    const std::string inputs =
        write("bad.jsonl", std::string(R"({"audio": {"HAPPY": 1}})") + "\n" + bad + "\n");
    RunResult r = run("classify --model " + quote(m) + " --fuse " + fuse + " --fuse-inputs " +
                      quote(inputs) + " one two");
    EXPECT_EQ(r.status, 1) << bad;
    EXPECT_NE(r.err.find("bad.jsonl:2"), std::string::npos) << bad << ": " << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  // --renormalize divides by the sum instead.
  const std::string inputs = write("unnormalized.jsonl", R"({"audio": {"HAPPY": 0.5, "SAD": 0.9}})" "\n");
  RunResult r = run("classify --model " + quote(m) + " --fuse " + fuse + " --fuse-inputs " +
                    quote(inputs) + " --renormalize " + quote("정말 기쁜 하루였어요!"));
  ASSERT_EQ(r.status, 0) << r.err;
  const Json fused = Json::parse(r.out);
  double sum = 0;
  for (const auto& [label, p] : fused.at("labels").items()) sum += p.get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-3);
}

// Item 3: classify answers each line while its stdin is still open.
TEST_F(CoherenceCli, ClassifyAnswersEachLineOfAPipeWithoutWaitingForMore) {
  const std::string m = model("ko-emotion7-small");
  int to_child[2], from_child[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(from_child), 0);
  const std::string cli = testing::cli_path();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(to_child[0], 0);
    dup2(from_child[1], 1);
    close(to_child[1]);
    close(from_child[0]);
    execl(cli.c_str(), cli.c_str(), "classify", "--model", m.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  std::string pending;
  // Reads one output line, waiting at most `seconds` (the model loads on the first).
  auto read_line = [&](int seconds) -> std::string {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (pending.find('\n') == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) return "";
      pollfd p{from_child[0], POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) return "";
      char buf[4096];
      const ssize_t n = read(from_child[0], buf, sizeof buf);
      if (n <= 0) return "";
      pending.append(buf, static_cast<size_t>(n));
    }
    const size_t nl = pending.find('\n');
    std::string line = pending.substr(0, nl);
    pending.erase(0, nl + 1);
    return line;
  };
  for (const std::string text : {"정말 기쁜 하루였어요!", "무서워요"}) {
    const std::string line = text + "\n";
    ASSERT_EQ(::write(to_child[1], line.data(), line.size()), static_cast<ssize_t>(line.size()));
    const std::string out = read_line(60);
    ASSERT_FALSE(out.empty()) << "no answer to \"" << text << "\" while stdin stays open";
    EXPECT_EQ(Json::parse(out).at("text"), text);
  }
  close(to_child[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  close(from_child[0]);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// Item 4: label names containing commas; JSON arrays for multi-label data.
TEST_F(CoherenceCli, EvalLabelNamesWithCommas) {
  const std::string m = model("ko-emotion7-small");
  const std::string names = write("names.json", R"({"가난한, 불우한": "sadness", "기쁜": "happiness"})");
  const std::string data = write("comma.tsv",
                                 "text\tlabel\n너무 슬퍼요\t가난한, 불우한\n정말 기뻐요\t기쁜\n");
  RunResult r = run("eval --model " + quote(m) + " --data " + quote(data) + " --label-names " +
                    quote(names) + " --json -q");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Json::parse(r.out).at("samples"), 2);
  // An unknown name is quoted whole, and so are the model's labels.
  const std::string unknown = write("unknown.tsv", "text\tlabel\n슬퍼요\t가난한, 불우한\n");
  r = run("eval --model " + quote(m) + " --data " + quote(unknown) + " -q");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("unknown label \"가난한, 불우한\""), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"fear\""), std::string::npos) << r.err;
  // Multi-label data: a JSON array of names or indices, or comma-separated.
  const std::string multi = write(
      "multi.tsv", "I love this, thanks!\t[\"love\", \"gratitude\"]\nWow\t[26]\nok\tneutral\n");
  r = run("eval --model " + quote(model("en-goemotions-electra-small")) + " --data " +
          quote(multi) + " --no-header --text-col 0 --label-col 1 --json -q");
  ASSERT_EQ(r.status, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j.at("samples"), 3);
  EXPECT_EQ(j.at("report").at("per_label").at("love").at("support"), 1);
  EXPECT_EQ(j.at("report").at("per_label").at("gratitude").at("support"), 1);
  EXPECT_EQ(j.at("report").at("per_label").at("surprise").at("support"), 1);  // index 26
}

// Item 5: usage errors exit 2 everywhere; unknown commands are named; --help shows the rest.
TEST_F(CoherenceCli, UsageErrorsExit2AndUnknownCommandsAreNamed) {
  const std::string m = quote(model("ko-emotion7-small"));
  const std::string data = quote(testing::shared_path("data/ko_single7/all.tsv"));
  for (const std::string args :
       {"eval --model " + m + " --data " + data + " --where fold -q", std::string("tokenize"),
        "classify --model " + m + " --fuse " + quote(example("text_audio_fusion.json")) + " x",
        "tokenize --vocab " + quote(testing::shared_path("vocab/klue-bert-base")) +
            " --max-length 1",
        std::string("frobnicate --port 8515 --host 0.0.0.0"), std::string("")}) {
    RunResult r = run(args, "x\n");
    EXPECT_EQ(r.status, 2) << args << ": " << r.err;
    EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
  }
  RunResult r = run("frobnicate --port 8515");
  EXPECT_EQ(r.err.rfind("maum: error: unknown command \"frobnicate\"", 0), 0u) << r.err;
  EXPECT_EQ(r.err.find("8515"), std::string::npos) << r.err;
  r = run("--threads 2 frobnicate");
  EXPECT_NE(r.err.find("unknown command \"frobnicate\""), std::string::npos) << r.err;
  r = run("help");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("classify"), std::string::npos);
}

TEST_F(CoherenceCli, SubcommandHelpListsGlobalOptionsAndDefaults) {
  for (const std::string cmd : {"classify", "eval", "tokenize", "bench", "convert", "calibrate"}) {
    RunResult r = run(cmd + " --help");
    EXPECT_EQ(r.status, 0) << cmd;
    EXPECT_NE(r.out.find("--threads"), std::string::npos) << cmd << ":\n" << r.out;
    EXPECT_NE(r.out.find("-v,--verbose"), std::string::npos) << cmd << ":\n" << r.out;
  }
  auto help_line = [&](const std::string& cmd, const std::string& option) {
    const std::string out = run(cmd + " --help").out;
    const size_t at = out.find(option + " ");
    return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
  };
  EXPECT_NE(help_line("classify", "--batch").find("32"), std::string::npos);
  EXPECT_NE(help_line("eval", "--batch").find("32"), std::string::npos);
  EXPECT_NE(help_line("bench", "--seq").find("128"), std::string::npos);
  EXPECT_NE(help_line("bench", "--batch").find("=1"), std::string::npos);
  EXPECT_NE(help_line("bench", "--iters").find("=20"), std::string::npos);
  EXPECT_NE(help_line("bench", "--warmup").find("=3"), std::string::npos);
}

// Item 6: logs, output files, reports and inputs users get wrong.
TEST_F(CoherenceCli, EvalProgressOutputFilesAndReport) {
  const std::string m = model("ko-emotion7-small");
  // The header and the first 200 rows of the Korean data (folds 0-9), evaluated on fold 9.
  std::ifstream all(testing::shared_path("data/ko_single7/all.tsv"));
  std::string rows, row;
  for (int i = 0; i < 201 && std::getline(all, row); ++i) rows += row + "\n";
  const std::string args = "eval --model " + quote(m) + " --data " +
                           quote(write("ko200.tsv", rows)) + " --fold 9 --label-names " +
                           quote(example("ko_single7_label_names.json"));
  // An unwritable diagram fails at once, with the OS reason, before any text is classified.
  RunResult r = run(args + " --reliability " + quote(dir_ + "/no/such/dir/rel.svg"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("No such file or directory"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("classified"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());
  // stderr is a file here: no carriage returns, one progress line.
  const std::string svg = dir_ + "/rel.svg";
  r = run(args + " --reliability " + quote(svg));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find('\r'), std::string::npos);
  const size_t at = r.err.find("maum: classified ");
  ASSERT_NE(at, std::string::npos) << r.err;
  const std::string done = r.err.substr(at);
  const size_t rows9 = std::stoul(done.substr(done.find('/') + 1));
  EXPECT_GT(rows9, 0u);
  // The confusion matrix is headed by the label names (rows and columns).
  const size_t confusion = r.out.find("confusion matrix");
  ASSERT_NE(confusion, std::string::npos) << r.out;
  std::istringstream lines(r.out.substr(confusion));
  std::string line;
  std::getline(lines, line);
  std::getline(lines, line);  // column header
  for (const char* label : {"fear", "surprise", "anger", "sadness", "neutral", "happiness", "disgust"})
    EXPECT_NE(line.find(label), std::string::npos) << label << " in: " << line;
  std::getline(lines, line);
  EXPECT_NE(line.find("fear"), std::string::npos) << line;  // first row
  // The diagram: legend, temperature and the data split, every text line inside the width.
  const std::string s = testing::read_file(svg);
  EXPECT_NE(s.find("legend"), std::string::npos);
  EXPECT_NE(s.find("temperature 1.8383"), std::string::npos) << s;
  EXPECT_NE(s.find("fold=9"), std::string::npos);
  EXPECT_NE(s.find(std::to_string(rows9) + " rows"), std::string::npos);
}

TEST_F(CoherenceCli, InputsUsersGetWrongSayWhatToDo) {
  // A folder with Flax weights only (tf_model.h5 is read since issue 13: tests/convert).
  const std::string flax = dir_ + "/flax_only";
  std::filesystem::create_directories(flax);
  const std::string src = testing::shared_path("models/ko-emotion7-small");
  for (const auto& entry : std::filesystem::directory_iterator(src)) {
    const std::string name = entry.path().filename().string();
    if (name != "model.safetensors" && name != "pytorch_model.bin")
      std::filesystem::copy(entry.path(), flax + "/" + name);
  }
  std::ofstream(flax + "/flax_model.msgpack") << "not really msgpack";
  RunResult r = run("convert " + quote(flax) + " " + quote(dir_ + "/flax.safetensors"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("flax_model.msgpack"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("from_flax=True"), std::string::npos) << r.err;
  // A CSV file.
  const std::string csv = write("data.csv", "text,label\n좋아요,happiness\n");
  r = run("eval --model " + quote(model("ko-emotion7-small")) + " --data " + quote(csv) + " -q");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("not tab-separated"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("data.csv:1"), std::string::npos) << r.err;
  // --max-length 2 is the least: [CLS] and [SEP].
  r = run("tokenize --max-length 2 --vocab " + quote(testing::shared_path("vocab/klue-bert-base")),
          "안녕하세요 반갑습니다\n");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out).at("ids").size(), 2u);
}

// Item 7: the entropy rule's unit is explicit, and the output says which one was compared.
TEST_F(CoherenceCli, EntropyRuleUnits) {
  const std::string m = model("ko-emotion7-small");
  const std::string text = quote("그냥 그래요");
  const std::string nats = write("nats.json", R"({"max_entropy_nats": 0.01})");
  RunResult r = run("classify --model " + quote(m) + " --policy " + quote(nats) + " " + text);
  ASSERT_EQ(r.status, 0) << r.err;
  Json a = Json::parse(r.out).at("analysis");
  // ln 7 = 1.9459 is the largest possible entropy over 7 labels.
  EXPECT_LE(a.at("entropy_nats").get<double>(), std::log(7.0) + 1e-9);
  EXPECT_NEAR(a.at("normalized_entropy").get<double>(),
              a.at("entropy_nats").get<double>() / std::log(7.0), 1e-9);
  EXPECT_EQ(a.at("entropy_rule"), "entropy_nats > 0.01");
  EXPECT_EQ(a.at("flags"), Json::array({"complex_emotion"}));
  const std::string normalized = write("normalized.json", R"({"max_normalized_entropy": 0.999})");
  r = run("classify --model " + quote(m) + " --policy " + quote(normalized) + " " + text);
  ASSERT_EQ(r.status, 0) << r.err;
  a = Json::parse(r.out).at("analysis");
  EXPECT_EQ(a.at("entropy_rule"), "normalized_entropy > 0.999");
  EXPECT_TRUE(a.at("flags").empty());
  const std::string both = write("both.json", R"({"max_entropy": 0.5, "max_normalized_entropy": 0.5})");
  r = run("classify --model " + quote(m) + " --policy " + quote(both) + " " + text);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("max_normalized_entropy"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace maum

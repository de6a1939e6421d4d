// Issue 9, end to end through the `maum` binary: no command exits 0 with output it did not write
// (a full disk, /dev/full), a non-finite logit loses no earlier line and names its input line, and
// convert never replaces a read-only output.
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/src/safetensors.h"
#include "tests/common/cli.h"

namespace maum {
namespace {

using testing::shell_quote;

class OutputCli : public testing::CliSandbox {
 protected:
  // Runs `maum ARGS` with its standard output on /dev/full (a device where every write fails
  // with ENOSPC, as on a full disk).
  static testing::RunResult run_to_full(const std::string& args, const std::string& input = "") {
    return run_shell("( " + shell_quote(testing::cli_path()) + " " + args + " > /dev/full )", input);
  }
};

// 9.3: every command checks its writes and the final flush/close.
TEST_F(OutputCli, FullDiskIsAnErrorForEveryCommand) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  const std::string ko = shell_quote(model("ko-emotion7-small"));
  const std::string tsv = dir_ + "/tiny.tsv";
  std::ofstream(tsv, std::ios::binary) << "text\tlabel\n정말 기쁜 하루였어요!\thappiness\n무서워요\tfear\n";
  std::string many;
  for (int i = 0; i < 600; ++i) many += "문장 " + std::to_string(i) + "\n";
  struct Case {
    std::string args, input;
  };
  const std::vector<Case> cases = {
      {"--version", ""},
      {"--version --verbose", ""},
      {"classify --model " + ko + " " + shell_quote("정말 기쁜 하루였어요!"), ""},
      {"classify --model " + ko, many},
      {"tokenize --vocab " + shell_quote(testing::shared_path("vocab/klue-bert-base")), many},
      {"eval --model " + ko + " --data " + shell_quote(tsv) + " --text-col text --label-col label -q", ""},
      {"eval --model " + ko + " --data " + shell_quote(tsv) + " --text-col text --label-col label -q --json", ""},
      {"bench --model " + ko + " --seq 16 --batch 1 --iters 1 --warmup 0", ""},
      {"bench --model " + ko + " --seq 16 --batch 1 --iters 1 --warmup 0 --json", ""},
      {"calibrate --model " + ko + " --data " + shell_quote(tsv) + " --text-col text --label-col label -q --no-write", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.args);
    // The same command to a real file works (so the failure below is the output's).
    testing::RunResult ok = run(c.args, c.input);
    ASSERT_EQ(ok.status, 0) << ok.err;
    ASSERT_FALSE(ok.out.empty());
    testing::RunResult full = run_to_full(c.args, c.input);
    EXPECT_EQ(full.status, 1) << full.err;
    EXPECT_NE(full.err.find("maum: error: standard output: cannot write: No space left on device"), std::string::npos)
        << full.err;
  }
}

// 9.5: one input whose logits are NaN (its token's embedding row is NaN) among 301 lines: the 99
// lines before it are written, in order, and the error names input line 100, not an index in
// the chunk.
TEST_F(OutputCli, NonFiniteLogitKeepsEarlierLinesAndNamesTheInputLine) {
  const std::string ko = model("ko-emotion7-small");
  testing::RunResult tok = run("tokenize --model " + shell_quote(ko), "zebra\n");
  ASSERT_EQ(tok.status, 0) << tok.err;
  const auto ids = nlohmann::json::parse(tok.out).at("ids");
  ASSERT_GE(ids.size(), 3u);
  const int64_t poisoned_id = ids[1].get<int64_t>();  // the first piece of "zebra"
  auto src = core::SafetensorsFile::open(ko);
  core::SafetensorsWriter writer;
  for (const auto& [k, v] : src->metadata()) writer.set_metadata(k, v);
  std::vector<uint8_t> word;
  for (const auto& [name, t] : src->tensors()) {
    if (name != "emb.word") {
      writer.add(name, t.dtype, t.shape, t.data, t.nbytes);
      continue;
    }
    word.assign(t.data, t.data + t.nbytes);
    const size_t row = static_cast<size_t>(t.shape[1]) * sizeof(float);
    const float nan = std::nanf("");
    for (size_t i = 0; i < row; i += sizeof(float)) std::memcpy(word.data() + poisoned_id * row + i, &nan, sizeof nan);
    writer.add(name, t.dtype, t.shape, word.data(), word.size());
  }
  const std::string bad = dir_ + "/nan_row.safetensors";
  writer.write(bad);

  std::string input;
  for (int i = 1; i <= 301; ++i) input += (i == 100 ? std::string("zebra") : "정말 기쁜 하루였어요 " + std::to_string(i)) + "\n";
  testing::RunResult r = run("classify --model " + shell_quote(bad) + " --batch 8", input);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("maum: error: stdin line 100: the model produced a non-finite logit"), std::string::npos)
      << r.err;
  const auto out = lines(r.out);
  ASSERT_EQ(out.size(), 99u) << r.err;
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_EQ(nlohmann::json::parse(out[i]).at("text"), "정말 기쁜 하루였어요 " + std::to_string(i + 1));
  // The same lines on their own: the same labels (results do not depend on batch-mates).
  std::string first99;
  for (int i = 1; i < 100; ++i) first99 += "정말 기쁜 하루였어요 " + std::to_string(i) + "\n";
  testing::RunResult clean = run("classify --model " + shell_quote(bad) + " --batch 8", first99);
  ASSERT_EQ(clean.status, 0) << clean.err;
  const auto expected = lines(clean.out);
  ASSERT_EQ(expected.size(), 99u);
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_EQ(nlohmann::json::parse(out[i]).at("top"), nlohmann::json::parse(expected[i]).at("top")) << i;
  // As an argument: named as one.
  r = run("classify --model " + shell_quote(bad) + " fine zebra");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("argument 2: the model produced a non-finite logit"), std::string::npos) << r.err;
  EXPECT_EQ(lines(r.out).size(), 1u);
}

// 9.12: convert over a read-only output leaves it (and its mode) as it was.
TEST_F(OutputCli, ConvertDoesNotReplaceAReadOnlyOutput) {
  const std::string out = dir_ + "/readonly.safetensors";
  std::ofstream(out) << "keep me";
  ASSERT_EQ(::chmod(out.c_str(), 0444), 0);
  testing::RunResult r = run("convert " + shell_quote(testing::shared_path("models/ko-emotion7-small")) + " " +
                             shell_quote(out));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("read-only"), std::string::npos) << r.err;
  EXPECT_EQ(testing::read_file(out), "keep me");
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);
  for (const auto& e : std::filesystem::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace maum

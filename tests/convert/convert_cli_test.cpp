// `maum convert` and weights/get_model.sh on a local folder: exit codes, the summary line, errors.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include <gtest/gtest.h>

#include "core/src/safetensors.h"
#include "tests/common/cli.h"
#include "tests/common/shared_dir.h"

namespace {

namespace fs = std::filesystem;

using maum::testing::cli_path;

// `maum convert` and the script each report on stdout or stderr: tests look at both.
class CliTemp : public maum::testing::CliSandbox {
 protected:
  struct CommandResult {
    int status;
    std::string output;
  };
  static CommandResult run(const std::string& command) {
    maum::testing::RunResult r = run_shell(command);
    return {r.status, r.out + r.err};
  }
  static std::string cli() { return maum::testing::shell_quote(cli_path()); }
};

TEST_F(CliTemp, ConvertsAndSummarizes) {
  const std::string hf = maum::testing::shared_path("models/en-goemotions-electra-small");
  CommandResult r = run(cli() + " convert " + hf + " " + dir_ + "/m.safetensors --quantize int8");
  ASSERT_EQ(r.status, 0) << r.output;
  // 59 F32 tensors + a scale per quantized weight (4 layers x 4 linears, and emb.word_scale)
  EXPECT_NE(r.output.find("76 tensors"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(int8)"), std::string::npos) << r.output;
  auto f = maum::core::SafetensorsFile::open(dir_ + "/m.safetensors");
  EXPECT_TRUE(f->metadata().count("maum.quantization"));
}

TEST_F(CliTemp, ErrorsExitNonZeroWithTheReason) {
  CommandResult r = run(cli() + " convert " + dir_ + "/missing " + dir_ + "/rejected.safetensors");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("config.json"), std::string::npos) << r.output;
  const std::string hf = maum::testing::shared_path("models/ko-emotion7-small");
  r = run(cli() + " convert " + hf + " " + dir_ + "/rejected.safetensors --quantize int4");
  EXPECT_NE(r.status, 0);
  EXPECT_FALSE(fs::exists(dir_ + "/rejected.safetensors"));
}

// An invalid --policy fails the conversion (it used to be embedded, and every later classify of
// the model then failed); a valid one is embedded and classify runs with it.
TEST_F(CliTemp, InvalidPolicyFailsTheConversion) {
  const std::string hf = maum::testing::shared_path("models/ko-emotion7-small");
  std::ofstream(dir_ + "/badpol.json") << R"({"temperature":"hot"})";
  CommandResult r = run(cli() + " convert " + hf + " " + dir_ + "/rejected.safetensors --policy " + dir_ + "/badpol.json");
  EXPECT_NE(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("badpol.json: \"temperature\" must be a number"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_ + "/rejected.safetensors"));
  std::ofstream(dir_ + "/goodpol.json") << R"({"temperature": 2, "top_k": 2})";
  r = run(cli() + " convert " + hf + " " + dir_ + "/m.safetensors --policy " + dir_ + "/goodpol.json");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run(cli() + " classify --model " + dir_ + "/m.safetensors 'good day'");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("\"analysis\""), std::string::npos) << r.output;
}

TEST_F(CliTemp, GetModelScriptConvertsALocalFolder) {
  const std::string script = std::string(MAUM_SOURCE_DIR) + "/weights/get_model.sh";
  const std::string hf = maum::testing::shared_path("models/ko-emotion7-small");
  CommandResult r = run("MAUM=" + cli() + " bash " + script + " " + hf + " " + dir_ + "/ko.safetensors");
  ASSERT_EQ(r.status, 0) << r.output;
  auto f = maum::core::SafetensorsFile::open(dir_ + "/ko.safetensors");
  EXPECT_EQ(f->meta("maum.format_version"), "1");
  r = run("MAUM=" + cli() + " bash " + script);
  EXPECT_NE(r.status, 0) << "usage error without arguments";
}

}  // namespace

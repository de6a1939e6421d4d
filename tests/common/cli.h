// Running the `maum` binary from tests: $MAUM_CLI if set (to test an installed build), else the one
// built from this tree (maum_add_test compiles its path in). CliSandbox gives each test suite a
// temporary folder, runs commands with a given stdin and captures stdout, stderr and the exit
// status, and converts shared checkpoints once per suite.
#pragma once
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/shared_dir.h"

namespace maum::testing {

inline std::string cli_path() {
  const char* env = std::getenv("MAUM_CLI");
  return env && *env ? std::string(env) : std::string(MAUM_CLI_DEFAULT);
}

// Single-quotes a string for /bin/sh.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct RunResult {
  int status = -1;  // exit code; -1 if killed by a signal
  std::string out, err;
};

// A GoogleTest fixture base: derive the suite's fixture from it.
class CliSandbox : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (std::filesystem::temp_directory_path() / "maum-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Runs a shell command line with `input` on stdin, capturing stdout and stderr.
  static RunResult run_shell(const std::string& command_line, const std::string& input = "") {
    const std::string in = dir_ + "/stdin.txt", out = dir_ + "/stdout.txt", err = dir_ + "/stderr.txt";
    std::ofstream(in, std::ios::binary) << input;
    const std::string command = command_line + " < " + shell_quote(in) + " > " + shell_quote(out) +
                                " 2> " + shell_quote(err);
    RunResult r;
    const int raw = std::system(command.c_str());
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    r.out = read_file(out);
    r.err = read_file(err);
    return r;
  }

  // The lines of a command's output, without their newlines.
  static std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }

  // Runs `maum ARGS` (ARGS already shell-quoted where needed).
  static RunResult run(const std::string& args, const std::string& input = "") {
    return run_shell(shell_quote(cli_path()) + " " + args, input);
  }

  // The shared checkpoint models/NAME converted (once per suite) with extra convert flags.
  static std::string model(const std::string& name, const std::string& convert_flags = "") {
    std::string file = name + convert_flags + ".safetensors";
    for (char& c : file)
      if (c == ' ' || c == '-' ) c = '_';
    const std::string out = dir_ + "/" + file;
    if (!std::filesystem::exists(out)) {
      RunResult r = run("convert " + shell_quote(shared_path("models/" + name)) + " " +
                        shell_quote(out) + " " + convert_flags);
      EXPECT_EQ(r.status, 0) << r.err;
    }
    return out;
  }

  static std::string dir_;
};

inline std::string CliSandbox::dir_;

}  // namespace maum::testing

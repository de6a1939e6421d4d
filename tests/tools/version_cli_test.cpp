// `maum --version --verbose` (issue 15): after the CPU line, one line per choice made for this CPU
// with its reason: whether AMX is usable (or why not) and which kernel table the int8 layers run,
// and whether int8 models use bf16 attention. The expectations come from /proc/cpuinfo's flags,
// not from the engine. Choices that cannot be honoured (MAUM_ISA=amx without AMX, an unknown
// MAUM_ATTENTION) are one-line errors.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/common/cli.h"

namespace maum {
namespace {

using testing::shell_quote;

class VersionCli : public testing::CliSandbox {
 protected:
  static testing::RunResult run_with(const std::string& env, const std::string& args) {
    return run_shell(env + " " + shell_quote(testing::cli_path()) + " " + args);
  }
  // " flag1 flag2 ... " of the first processor, or "" where /proc/cpuinfo is unreadable.
  static std::string cpu_flags() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("flags", 0) == 0 && line.find(':') != std::string::npos)
        return line.substr(line.find(':') + 1) + " ";
    }
    return "";
  }
};

TEST_F(VersionCli, VerboseNamesAmxAndEachChoiceWithItsReason) {
  testing::RunResult r = run_with("env -u MAUM_ISA -u MAUM_ATTENTION", "--version --verbose");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::vector<std::string> out = lines(r.out);
  ASSERT_EQ(out.size(), 4u) << r.out;
  EXPECT_EQ(out[0].rfind("maum ", 0), 0u) << out[0];
  EXPECT_EQ(out[1].rfind("cpu:", 0), 0u) << out[1];
  EXPECT_EQ(out[2].rfind("amx: ", 0), 0u) << out[2];
  EXPECT_NE(out[2].find("; int8 linear layers run the "), std::string::npos) << out[2];
  EXPECT_NE(out[2].find("; bf16 linear layers (precision bf16): "), std::string::npos) << out[2];
  EXPECT_EQ(out[3].rfind("bf16 attention (int8 models): ", 0), 0u) << out[3];
  if (!MAUM_SIMD) {  // no x86 kernels, no cpuid: the portable table, and lines that say so
    EXPECT_EQ(out[2], "amx: not usable — built without the x86 kernels: MAUM_SIMD=OFF; int8 linear "
                      "layers run the portable table; bf16 linear layers (precision bf16): no "
                      "AMX-BF16, scalar reference (fp32 sums)");
    EXPECT_EQ(out[3], "bf16 attention (int8 models): off — the portable table has no bf16 "
                      "attention (AVX-512 tables only)");
  }
  const std::string flags = cpu_flags();
  if (flags.empty()) GTEST_SKIP() << "no /proc/cpuinfo flags to hold the lines to";
  const bool no_amx = flags.find(" amx_int8 ") == std::string::npos &&
                      flags.find(" amx_bf16 ") == std::string::npos;
  if (MAUM_SIMD && no_amx) {
    EXPECT_EQ(out[2].rfind("amx: not usable — no AMX on this CPU", 0), 0u) << out[2];
    EXPECT_EQ(out[2].find("run the amx table"), std::string::npos) << out[2];
    EXPECT_NE(out[2].find("; bf16 linear layers (precision bf16): no AMX-BF16, "), std::string::npos)
        << out[2];
  }
  if (MAUM_SIMD && flags.find(" avx512_bf16 ") == std::string::npos) {
    EXPECT_EQ(out[3], "bf16 attention (int8 models): off — CPU lacks AVX512_BF16");
  }
  r = run_with("env -u MAUM_ISA MAUM_ATTENTION=fp32", "--version --verbose");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("\nbf16 attention (int8 models): off — MAUM_ATTENTION=fp32\n"),
            std::string::npos)
      << r.out;
}

TEST_F(VersionCli, ChoicesThatCannotBeHonouredAreOneLineErrors) {
  testing::RunResult r = run_with("env -u MAUM_ATTENTION MAUM_ISA=amx", "--version --verbose");
  if (!MAUM_SIMD || (cpu_flags().find(" amx_int8 ") == std::string::npos &&
                     cpu_flags().find(" amx_bf16 ") == std::string::npos)) {
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err.rfind(std::string("maum: error: MAUM_ISA=amx: this CPU cannot run amx (") +
                              (MAUM_SIMD ? "no AMX on this CPU" : "built without the x86 kernels"),
                          0),
              0u)
        << r.err;
    EXPECT_EQ(lines(r.err).size(), 1u) << r.err;
  }
  r = run_with("env -u MAUM_ISA MAUM_ATTENTION=fp16", "--version --verbose");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "maum: error: MAUM_ATTENTION='fp16' is not a known attention precision "
                   "(expected fp32 or bf16)\n");
}

}  // namespace
}  // namespace maum

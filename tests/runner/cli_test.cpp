// The segflow command line, run as a separate process: exit codes and messages.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <string>

#include <sys/wait.h>

#include "tests/support/test_support.h"

namespace segflow {
namespace {

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

Result run_segflow(const std::string& args) {
  const std::string command = std::string(SEGFLOW_BINARY) + " " + args + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  Result r{-1, ""};
  std::array<char, 4096> buf;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), pipe)) > 0;) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(CliTest, VersionAndHelp) {
  const Result v = run_segflow("--version");
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.output.rfind("segflow ", 0), 0u) << v.output;
  const Result h = run_segflow("--help");
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_NE(h.output.find("run"), std::string::npos);
  EXPECT_NE(h.output.find("validate"), std::string::npos);
}

TEST(CliTest, ValidateAcceptsTheShippedJobs) {
  for (const char* job : {"jobs/retail.yaml", "jobs/rees46_replay.yaml"}) {
    const Result r = run_segflow(std::string("validate ") + SEGFLOW_SOURCE_DIR + "/" + job);
    EXPECT_EQ(r.exit_code, 0) << job << ": " << r.output;
  }
}

TEST(CliTest, BadSpecExitsWithTwoAndNamesTheLine) {
  testing::TempDir dir;
  const std::string path = dir.file("bad.yaml");
  testing::write_file(path, "name: x\nsources:\n  - id: s\n    type: nosuchsource\n");
  for (const char* verb : {"validate", "run"}) {
    const Result r = run_segflow(std::string(verb) + " " + path);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find(path + ":4:11: sources[0].type: unknown source type 'nosuchsource'"),
              std::string::npos)
        << r.output;
  }
  const Result missing = run_segflow("run " + dir.file("absent.yaml"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("cannot open job spec"), std::string::npos);
}

TEST(CliTest, UnknownCommandFails) {
  EXPECT_NE(run_segflow("frobnicate").exit_code, 0);
  EXPECT_NE(run_segflow("").exit_code, 0);
}

}  // namespace
}  // namespace segflow

// The segflow command line, run as a separate process: exit codes and messages.
#include <gtest/gtest.h>

#include <fcntl.h>

#include <array>
#include <cstdio>
#include <string>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

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
  for (const char* job :
       {"jobs/retail.yaml", "jobs/rees46_replay.yaml", "jobs/taobao_replay.yaml",
        "jobs/uci_replay.yaml", "jobs/windows_example.yaml", "jobs/identity_example.yaml"}) {
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

// SIGINT stops the sources; everything they emitted is still written before exit 0.
TEST(CliTest, InterruptDrainsAndWritesEverything) {
  testing::TempDir dir;
  const std::string job = dir.file("endless.yaml");
  testing::write_file(job,
                      "name: endless\nparallelism: 2\n"
                      "sources:\n  - id: events\n    type: generator\n    events: 0\n"
                      "operators:\n  - id: views\n    type: filter\n    input: events\n"
                      "    events: [Product Viewed]\n"
                      "sinks:\n  - id: out\n    type: file_sink\n    input: views\n"
                      "    path: " +
                          dir.file("out.jsonl") + "\n");
  const std::string summary = dir.file("summary.txt");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, summary.c_str(), O_WRONLY | O_CREAT,
                                   0644);
  std::vector<std::string> args = {SEGFLOW_BINARY, "run", job};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(posix_spawn(&pid, SEGFLOW_BINARY, &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(kill(pid, SIGINT), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The summary's count of records into the sink equals the lines in the file.
  const std::string text = testing::read_file(summary);
  const auto at = text.find("\n  out ");
  ASSERT_NE(at, std::string::npos) << text;
  const auto in_at = text.find(" in ", at) + 4;
  const uint64_t sink_in = std::stoull(text.substr(in_at));
  EXPECT_GT(sink_in, 0u);
  EXPECT_EQ(testing::read_lines(dir.file("out.jsonl")).size(), sink_in);
  // Busy seconds of every subtask thread (named by its chain's head), e.g. " src#0 0.012".
  const auto busy_at = text.find("\n  busy seconds: ");
  ASSERT_NE(busy_at, std::string::npos) << text;
  EXPECT_NE(text.find("#0 0.", busy_at), std::string::npos) << text;
}

TEST(CliTest, UnknownCommandFails) {
  EXPECT_NE(run_segflow("frobnicate").exit_code, 0);
  EXPECT_NE(run_segflow("").exit_code, 0);
}

}  // namespace
}  // namespace segflow

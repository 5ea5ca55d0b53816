// Jobs with an http_ingest source, run as real `segflow run` processes on loopback.
// Segment's own Node.js client, @segment/analytics-node from npm, sends track, identify,
// page, screen, group and alias calls to a job http_ingest -> rolling_count_threshold ->
// file sinks; the decoded events and the segment changes must be exactly what the calls
// imply. Skipped when node or npm is missing; the package is installed (once) under the
// build tree by install_analytics_node.sh. The shipped jobs/http_ingest.yaml is run too,
// fed over a plain socket, and stopped by SIGINT.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_support.h"

namespace segflow {
namespace {

using segflow::testing::json_field;
using segflow::testing::read_file;
using segflow::testing::read_lines;
using segflow::testing::TempDir;
using segflow::testing::write_file;

const std::string kTestDir = std::string(SEGFLOW_SOURCE_DIR) + "/tests/connectors/http_ingest";

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

CommandResult run(const std::string& command) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  CommandResult r;
  std::array<char, 4096> buf;
  for (size_t n; (n = fread(buf.data(), 1, buf.size(), pipe)) > 0;) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// A `segflow run <job>` child process, its stderr going to a file.
class SegflowProcess {
 public:
  SegflowProcess(const std::string& job, const std::string& log,
                 const std::vector<std::string>& extra_args = {})
      : log_(log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> args = {SEGFLOW_BINARY, "run", job};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, SEGFLOW_BINARY, &actions, nullptr, argv.data(), environ) != 0) pid_ = 0;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~SegflowProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // The port the ingest logged it listens on; 0 if the process ended first or 60 s passed.
  int wait_for_port() {
    const std::string marker = "http_ingest listening on http://127.0.0.1:";
    for (int attempt = 0; attempt < 6000; ++attempt) {
      const std::string log = read_file(log_);
      const size_t at = log.find(marker);
      if (at != std::string::npos) return std::stoi(log.substr(at + marker.size()));
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = 0;
        return 0;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  }

  // Sends `signal` (SIGTERM, SIGINT: graceful stop, drain and write everything) and returns
  // the exit code.
  int terminate(int signal = SIGTERM) {
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  std::string log_;
  pid_t pid_ = 0;
};

// One Segment call as the test sends it, and the record it must become.
struct Call {
  std::string call;  // analytics-node method
  std::string args;  // its argument, a JSON object
  std::string type;  // expected record type
  std::string profile;
  std::string event;  // expected event name ("" for calls that have none)
  std::string timestamp;
};

std::string at(const std::string& hh_mm) { return "2024-05-01T12:" + hh_mm + ":00.000Z"; }

TEST(AnalyticsNodeTest, SegmentsClientFeedsAJobThroughHttpIngest) {
  if (run("command -v node && command -v npm").exit_code != 0)
    SEGFLOW_SKIP_WITHOUT("node and npm are not installed (apt-get install nodejs npm)");
  // Under the build tree (next to the segflow binary), whatever the working directory.
  const std::string modules_dir =
      (std::filesystem::path(SEGFLOW_BINARY).parent_path() / "npm").string();
  const CommandResult install =
      run("bash " + kTestDir + "/install_analytics_node.sh " + modules_dir);
  if (install.exit_code == 77) SEGFLOW_SKIP_WITHOUT(install.output);
  ASSERT_EQ(install.exit_code, 0) << "npm install @segment/analytics-node failed:\n"
                                  << install.output;

  TempDir dir;
  const std::string job = dir.file("job.yaml");
  write_file(job,
             "name: analytics_node_ingest\nparallelism: 1\n"
             "watermarks: {out_of_orderness: 0s}\n"
             "dead_letter: {path: " +
                 dir.file("dead.jsonl") +
                 "}\n"
                 "sources:\n  - {id: events, type: http_ingest, port: 0, "
                 "write_keys: [test-write-key]}\n"
                 "operators:\n  - {id: frequent_viewers, type: rolling_count_threshold, "
                 "input: events, events: [Product Viewed], window: 10m, threshold: 2}\n"
                 "sinks:\n"
                 "  - {id: decoded, type: file_sink, input: events, path: " +
                 dir.file("events.jsonl") +
                 "}\n"
                 "  - {id: changes, type: file_sink, input: frequent_viewers, path: " +
                 dir.file("changes.jsonl") + "}\n");

  // In time order. u1 views 3 products within 10 minutes (enters at 12:02, exits when its
  // 12:00 view ages out at 12:10); anon-2 views only 2 (never enters); u3 views 4 (enters at
  // 12:07, exits at 12:16 when its second view ages out, leaving 2).
  const auto track = [](const std::string& user_field, const std::string& id,
                        const std::string& event, const std::string& time) {
    return Call{"track",
                R"({")" + user_field + R"(":")" + id + R"(","event":")" + event +
                    R"(","properties":{"sku":"s-)" + time + R"("},"timestamp":")" + at(time) +
                    R"("})",
                "track",
                id,
                event,
                at(time)};
  };
  const std::vector<Call> calls = {
      track("userId", "u1", "Product Viewed", "00"),
      track("userId", "u1", "Product Viewed", "01"),
      {"identify",
       R"({"userId":"u1","traits":{"email":"u1@example.com"},"timestamp":")" + at("01") + R"("})",
       "identify", "u1", "", at("01")},
      track("userId", "u1", "Product Viewed", "02"),
      track("anonymousId", "anon-2", "Product Viewed", "03"),
      {"page", R"({"anonymousId":"anon-2","name":"Pricing","timestamp":")" + at("03") + R"("})",
       "page", "anon-2", "", at("03")},
      track("anonymousId", "anon-2", "Product Viewed", "04"),
      track("userId", "u3", "Product Viewed", "05"),
      track("userId", "u3", "Product Viewed", "06"),
      track("userId", "u3", "Product Viewed", "07"),
      {"screen", R"({"userId":"u3","name":"Cart","timestamp":")" + at("07") + R"("})", "screen",
       "u3", "", at("07")},
      track("userId", "u3", "Product Viewed", "08"),
      {"alias", R"({"userId":"u3","previousId":"anon-2","timestamp":")" + at("09") + R"("})",
       "alias", "u3", "", at("09")},
      {"group", R"({"userId":"u3","groupId":"acme","timestamp":")" + at("09") + R"("})", "group",
       "u3", "", at("09")},
      track("userId", "u1", "Order Completed", "09"),
  };
  std::string calls_json = "[";
  for (const Call& c : calls)
    calls_json += (calls_json.size() > 1 ? "," : "") + std::string(R"({"call":")") + c.call +
                  R"(","args":)" + c.args + "}";
  write_file(dir.file("calls.json"), calls_json + "]");

  SegflowProcess segflow(job, dir.file("segflow.log"));
  const int port = segflow.wait_for_port();
  ASSERT_NE(port, 0) << read_file(dir.file("segflow.log"));
  const CommandResult sent =
      run("node " + kTestDir + "/send_with_analytics_node.js " + modules_dir +
          "/node_modules http://127.0.0.1:" + std::to_string(port) + " test-write-key " +
          dir.file("calls.json"));
  ASSERT_EQ(sent.exit_code, 0) << sent.output;
  // Every call was answered 200, so it is in the pipeline: a graceful stop writes it all.
  ASSERT_EQ(segflow.terminate(), 0) << read_file(dir.file("segflow.log"));

  const std::vector<std::string> decoded = read_lines(dir.file("events.jsonl"));
  ASSERT_EQ(decoded.size(), calls.size()) << read_file(dir.file("segflow.log"));
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(json_field(decoded[i], "type"), calls[i].type) << decoded[i];
    EXPECT_EQ(json_field(decoded[i], "profile"), calls[i].profile) << decoded[i];
    EXPECT_EQ(json_field(decoded[i], "timestamp"), calls[i].timestamp) << decoded[i];
    if (!calls[i].event.empty()) {
      EXPECT_EQ(json_field(decoded[i], "event"), calls[i].event) << decoded[i];
    }
  }
  // analytics-node's own fields arrive too: its library name in the context.
  EXPECT_EQ(json_field(decoded[0], "context.library.name"), "@segment/analytics-node")
      << decoded[0];
  EXPECT_EQ(json_field(decoded[0], "properties.sku"), "s-00") << decoded[0];
  EXPECT_EQ(json_field(decoded[2], "traits.email"), "u1@example.com") << decoded[2];

  std::vector<std::string> changes;
  for (const std::string& line : read_lines(dir.file("changes.jsonl")))
    changes.push_back(json_field(line, "timestamp") + " " + json_field(line, "profile") + " " +
                      json_field(line, "event") + " " + json_field(line, "count"));
  std::sort(changes.begin(), changes.end());
  EXPECT_EQ(changes, (std::vector<std::string>{
                         at("02") + " u1 entered 3",
                         at("07") + " u3 entered 3",
                         at("10") + " u1 exited 2",
                         at("16") + " u3 exited 2",
                     }));
  EXPECT_FALSE(std::filesystem::exists(dir.file("dead.jsonl")) &&
               !read_file(dir.file("dead.jsonl")).empty())
      << read_file(dir.file("dead.jsonl"));
}

// POSTs `body` to 127.0.0.1:<port><target> over a plain socket with the write key of
// jobs/http_ingest.yaml ("ZGV2LXdyaXRlLWtleTo=" is base64 of "dev-write-key:"); returns the
// status line.
std::string post_raw(int port, const std::string& target, const std::string& body) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "";
  }
  const std::string request = "POST " + target +
                              " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Authorization: Basic ZGV2LXdyaXRlLWtleTo=\r\n"
                              "Content-Type: application/json\r\nConnection: close\r\n"
                              "Content-Length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = write(fd, request.data() + sent, request.size() - sent);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string response;
  std::array<char, 4096> buf;
  for (ssize_t n; (n = read(fd, buf.data(), buf.size())) > 0;) response.append(buf.data(), n);
  close(fd);
  return response.substr(0, response.find("\r\n"));
}

TEST(HttpIngestJobTest, ShippedJobServesAndDrainsOnInterrupt) {
  TempDir dir;
  SegflowProcess segflow(
      std::string(SEGFLOW_SOURCE_DIR) + "/jobs/http_ingest.yaml", dir.file("segflow.log"),
      {"--set", "sources.events.port=0", "--set", "sinks.changes.path=" + dir.file("changes.jsonl"),
       "--set", "sinks.decoded.path=" + dir.file("events.jsonl"), "--set",
       "dead_letter.path=" + dir.file("dead.jsonl")});
  const int port = segflow.wait_for_port();
  ASSERT_NE(port, 0) << read_file(dir.file("segflow.log"));
  // Six views by u1, one a minute: above the threshold (5) at the sixth.
  for (int minute = 0; minute < 6; ++minute) {
    const std::string body = R"({"userId":"u1","event":"Product Viewed","timestamp":")" +
                             at("0" + std::to_string(minute)) + R"("})";
    ASSERT_EQ(post_raw(port, "/v1/track", body), "HTTP/1.1 200 OK");
  }
  EXPECT_EQ(post_raw(port, "/v1/track", "{"), "HTTP/1.1 400 Bad Request");
  ASSERT_EQ(segflow.terminate(SIGINT), 0) << read_file(dir.file("segflow.log"));
  EXPECT_EQ(read_lines(dir.file("events.jsonl")).size(), 6u);
  std::vector<std::string> changes;
  for (const std::string& line : read_lines(dir.file("changes.jsonl")))
    changes.push_back(json_field(line, "timestamp") + " " + json_field(line, "event") + " " +
                      json_field(line, "count"));
  // Entered with the sixth view; exited when the first ages out of the 10-minute window.
  EXPECT_EQ(changes, (std::vector<std::string>{at("05") + " entered 6", at("10") + " exited 5"}));
}

}  // namespace
}  // namespace segflow

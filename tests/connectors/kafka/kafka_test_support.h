// Helpers of the Kafka process tests: librdkafka's mock cluster run as a separate process
// (tests/support/kafka_mock_cluster.cpp), the segflow binary run as another, and kcat
// producing and reading topics. Everything talks the Kafka protocol over loopback TCP.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/test_support.h"

namespace segflow::testing {

inline bool have_kcat() { return std::system("command -v kcat >/dev/null 2>&1") == 0; }

inline pid_t spawn(const std::vector<std::string>& args, posix_spawn_file_actions_t* actions) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], actions, nullptr, argv.data(), environ) != 0) return -1;
  return pid;
}

// The mock cluster process: started with its topics ("name:partitions"), stopped when the
// object dies. Brokers are numbered 1..brokers.
class MockKafkaCluster {
 public:
  explicit MockKafkaCluster(const std::vector<std::string>& topics, int brokers = 3) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, to_child[1]);
    posix_spawn_file_actions_addclose(&actions, from_child[0]);
    std::vector<std::string> args = {KAFKA_MOCK_CLUSTER_BINARY, "--brokers",
                                     std::to_string(brokers)};
    args.insert(args.end(), topics.begin(), topics.end());
    pid_ = spawn(args, &actions);
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    commands_ = fdopen(to_child[1], "w");
    answers_ = fdopen(from_child[0], "r");
    const std::string first = read_line();
    if (first.rfind("bootstrap ", 0) == 0) bootstrap_ = first.substr(10);
  }
  ~MockKafkaCluster() {
    if (commands_ != nullptr) std::fclose(commands_);  // end of input: the helper exits
    if (answers_ != nullptr) std::fclose(answers_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  MockKafkaCluster(const MockKafkaCluster&) = delete;
  MockKafkaCluster& operator=(const MockKafkaCluster&) = delete;

  // "host:port,host:port,host:port"; empty if the cluster did not start.
  const std::string& bootstrap() const { return bootstrap_; }
  void broker_down(int id) { command("down " + std::to_string(id)); }
  void broker_up(int id) { command("up " + std::to_string(id)); }

 private:
  std::string read_line() {
    char buf[1024];
    if (answers_ == nullptr || std::fgets(buf, sizeof buf, answers_) == nullptr) return "";
    std::string line(buf);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    return line;
  }
  void command(const std::string& text) {
    std::fprintf(commands_, "%s\n", text.c_str());
    std::fflush(commands_);
    EXPECT_EQ(read_line(), "ok") << text;
  }

  pid_t pid_ = -1;
  std::FILE* commands_ = nullptr;
  std::FILE* answers_ = nullptr;
  std::string bootstrap_;
};

// `segflow run job` as a separate process, its stdout and stderr to `log`.
class SegflowProcess {
 public:
  SegflowProcess(const std::string& job, const std::string& log,
                 const std::vector<std::string>& extra_args = {}) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<std::string> args = {SEGFLOW_BINARY, "run", job};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    pid_ = spawn(args, &actions);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~SegflowProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  SegflowProcess(const SegflowProcess&) = delete;
  SegflowProcess& operator=(const SegflowProcess&) = delete;

  bool started() const { return pid_ > 0; }
  // SIGINT: stop the sources and drain.
  void interrupt() { kill(pid_, SIGINT); }
  // SIGUSR1: take a savepoint.
  void savepoint() { kill(pid_, SIGUSR1); }
  // SIGKILL: a crash; waits until the process is gone.
  void crash() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  // The exit code, or -1 when it did not exit by itself within `limit` (then it is killed).
  int wait(std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    int status = 0;
    while (std::chrono::steady_clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

// Produces the lines of `file` ("key<TAB>value") to `topic`; -E: keeps going (and
// delivering) through broker errors instead of exiting on the first one.
inline void kcat_produce(const std::string& brokers, const std::string& topic,
                         const std::string& file) {
  run_command("kcat -E -P -b " + brokers + " -t " + topic + " -K '\\t' -l " + file);
}

inline constexpr int64_t kStart = 1704067200000;  // 2024-01-01T00:00:00Z

struct Event {
  std::string key;
  std::string json;
};

// `count` Segment track events of `users` users, 10 s apart, up to 30 s out of order.
inline std::vector<Event> make_events(int count, int users, uint32_t seed, int first_id = 0) {
  std::mt19937 random(seed);
  std::vector<Event> events;
  for (int i = first_id; i < first_id + count; ++i) {
    const std::string user = "u" + std::to_string(random() % users);
    const int64_t time = kStart + int64_t{i} * 10000 - static_cast<int64_t>(random() % 30000);
    const char* name = random() % 3 == 0 ? "Product Added" : "Product Viewed";
    events.push_back({user, R"({"type":"track","event":")" + std::string(name) + R"(","userId":")" +
                                user + R"(","messageId":"m)" + std::to_string(i) +
                                R"(","timestamp":)" + std::to_string(time) +
                                R"(,"properties":{"price":)" + std::to_string(i % 97) + "}}"});
  }
  return events;
}

inline void write_events(const std::vector<Event>& events, const std::string& keyed,
                         const std::string& jsonl) {
  std::string k, j;
  for (const Event& e : events) {
    k += e.key + "\t" + e.json + "\n";
    j += e.json + "\n";
  }
  write_file(keyed, k);
  write_file(jsonl, j);
}

// The lines of `command`'s standard output.
inline std::vector<std::string> command_lines(const std::string& command) {
  const std::string text = run_command(command);
  std::vector<std::string> lines;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    lines.push_back(text.substr(start, end - start));
  return lines;
}

// Every message of `topic` as "key<TAB>value", read from the beginning to the end.
inline std::vector<std::string> kcat_read(const std::string& brokers, const std::string& topic) {
  return command_lines("kcat -C -q -e -o beginning -b " + brokers + " -t " + topic +
                       " -f '%k\\t%s\\n'");
}

}  // namespace segflow::testing

// WebhookTestServer: runs tests/support/webhook_test_server.py, a test double of
// a webhook receiver (python3's http.server on a free loopback port) that answers requests
// as its plan says and logs them; requests() reads that log back.
// Thread safety: requests() may run while the server serves.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <simdjson.h>

#include "tests/support/test_support.h"

extern char** environ;

namespace segflow::testing {

// One request the server received.
struct Request {
  std::string action;
  std::string path;
  std::map<std::string, std::string> headers;
  std::vector<std::string> records;  // "profile@timestamp" of each element of the body
  int64_t client_port = 0;
  double time = 0;  // when the server received it, in seconds (monotonic)
};

// Runs webhook_test_server.py with `args` until destroyed.
class WebhookTestServer {
 public:
  explicit WebhookTestServer(std::vector<std::string> args) {
    const std::string script =
        std::string(SEGFLOW_SOURCE_DIR) + "/tests/support/webhook_test_server.py";
    std::vector<std::string> argv_strings = {"python3",         script,  "--port-file",
                                             dir_.file("port"), "--log", dir_.file("log.jsonl")};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_strings) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Its output goes to a file: a server outliving a killed test must not hold its pipe.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string output = dir_.file("server-output.txt");
    posix_spawn_file_actions_addopen(&actions, 1, output.c_str(), O_WRONLY | O_CREAT, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int spawned = posix_spawnp(&pid_, "python3", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) throw std::runtime_error("cannot start python3");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!std::filesystem::exists(dir_.file("port"))) {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("webhook_test_server.py did not start: " +
                                 read_file(dir_.file("server-output.txt")));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    port_ = std::stoi(read_file(dir_.file("port")));
  }
  ~WebhookTestServer() {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }

  int port() const { return port_; }

  std::vector<Request> requests() const {
    std::vector<Request> result;
    simdjson::dom::parser parser;
    simdjson::dom::parser body_parser;
    for (const std::string& line : read_lines(dir_.file("log.jsonl"))) {
      const simdjson::dom::element entry = parser.parse(line);
      Request r;
      r.action = std::string(std::string_view(entry["action"]));
      r.path = std::string(std::string_view(entry["path"]));
      r.client_port = int64_t(entry["client_port"]);
      r.time = double(entry["time"]);
      for (auto [name, value] : simdjson::dom::object(entry["headers"]))
        r.headers[std::string(name)] = std::string(std::string_view(value));
      const std::string body{std::string_view(entry["body"])};
      for (simdjson::dom::element e : simdjson::dom::array(body_parser.parse(body)))
        r.records.push_back(std::string(std::string_view(e["profile"])) + "@" +
                            std::string(std::string_view(e["timestamp"])));
      result.push_back(std::move(r));
    }
    return result;
  }

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace segflow::testing

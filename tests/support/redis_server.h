// RedisServer: a real redis-server (Debian package redis-server) run by a test on a free
// loopback port, its data in a temporary directory. It persists every write before
// acknowledging it (append-only file, fsync always), so a server killed with SIGKILL and
// started again holds every write it acknowledged: what a sink must rely on. redis-cli
// reads the state back. Thread safety: kill()/start() and cli() may run on different
// threads only if the test orders them.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/registry.h"
#include "tests/support/test_support.h"

extern char** environ;

namespace segflow::testing {

class RedisServer {
 public:
  // Whether redis-server and redis-cli are installed.
  static bool available() {
    return std::system(
               "command -v redis-server >/dev/null 2>&1 && "
               "command -v redis-cli >/dev/null 2>&1") == 0;
  }

  // `password`: the server requires AUTH with it (redis-cli sends it too).
  explicit RedisServer(std::string password = "")
      : port_(free_port()), password_(std::move(password)) {
    start();
  }
  ~RedisServer() { kill(); }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Starts the server (again: same port and data) and waits until it answers PING.
  void start() {
    const std::string port = std::to_string(port_);
    std::vector<std::string> args = {"redis-server",
                                     "--port",
                                     port,
                                     "--bind",
                                     "127.0.0.1",
                                     "--dir",
                                     dir_.path().string(),
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "yes",
                                     "--appendfsync",
                                     "always",
                                     "--logfile",
                                     "redis.log"};
    if (!password_.empty()) args.insert(args.end(), {"--requirepass", password_});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    // Not the test's stdout: a server outliving a killed test must not hold its pipe open.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    const int spawned =
        posix_spawnp(&pid_, "redis-server", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) throw std::runtime_error("cannot start redis-server");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (cli("PING") != "PONG\n") {
      if (std::chrono::steady_clock::now() > deadline)
        throw std::runtime_error("redis-server did not answer on port " + port);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // SIGKILL, as a crash: no shutdown save, connections dropped.
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // The stdout of `redis-cli --raw -p <port> <args>` (args are split by the shell).
  std::string cli(const std::string& args) const { return run(cli_prefix() + args); }

  // The replies to `commands` (one a line, run by one redis-cli), one a line each.
  std::vector<std::string> cli_lines(const std::string& commands) const {
    write_file((dir_.path() / "commands.txt").string(), commands);
    std::istringstream in(run(cli_prefix() + "< " + (dir_.path() / "commands.txt").string()));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  std::set<std::string> set_members(const std::string& key) const {
    std::set<std::string> members;
    std::istringstream in(cli("SMEMBERS '" + key + "'"));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) members.insert(line);
    return members;
  }

  std::map<std::string, std::string> hash(const std::string& key) const {
    std::map<std::string, std::string> fields;
    std::istringstream in(cli("HGETALL '" + key + "'"));
    for (std::string field, value; std::getline(in, field) && std::getline(in, value);)
      fields[field] = value;
    return fields;
  }

  std::set<std::string> keys(const std::string& pattern) const {
    std::set<std::string> keys;
    std::istringstream in(cli("--scan --pattern '" + pattern + "'"));
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) keys.insert(line);
    return keys;
  }

 private:
  std::string cli_prefix() const {
    return "redis-cli --raw -p " + std::to_string(port_) +
           (password_.empty() ? "" : " --no-auth-warning -a " + password_) + " ";
  }

  // The stdout of a shell command (stderr dropped).
  static std::string run(const std::string& shell_command) {
    const std::string command = shell_command + " 2>/dev/null";
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) return "";
    std::string out;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
    pclose(pipe);
    return out;
  }

  static int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(fd);
      throw std::runtime_error("no free port");
    }
    close(fd);
    return ntohs(addr.sin_port);
  }

  TempDir dir_;
  int port_;
  std::string password_;
  pid_t pid_ = -1;
};

// Why the Redis tests cannot run here, "" when they can: segflow built without hiredis, or
// no redis-server / redis-cli installed.
inline std::string redis_unavailable_reason() {
  if (Registry::global().find("redis") == nullptr)
    return "segflow was built without hiredis (libhiredis-dev)";
  if (!RedisServer::available())
    return "redis-server / redis-cli not installed (Debian redis-server)";
  return "";
}

}  // namespace segflow::testing

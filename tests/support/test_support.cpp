#include "tests/support/test_support.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include <unistd.h>

#include "engine/spec_error.h"

namespace segflow::testing {

bool dependencies_required() {
  const char* value = std::getenv("SEGFLOW_REQUIRE_DEPENDENCIES");
  return value != nullptr && std::string(value) == "1";
}

TempDir::TempDir() {
  static std::mt19937_64 rng(static_cast<uint64_t>(::getpid()));
  path_ = std::filesystem::temp_directory_path() /
          ("segflow-test-" + std::to_string(::getpid()) + "-" + std::to_string(rng()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace segflow::testing

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace segflow::testing {

std::string http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (::send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, n);
    }
  }
  ::close(fd);
  const auto body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

}  // namespace segflow::testing

#include <gtest/gtest.h>

namespace segflow::testing {

std::string run_command(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  std::string out;
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return out;
  }
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << command;
  return out;
}

std::string json_field(const std::string& json, const std::string& name) {
  const std::string key = "\"" + name + "\":";
  auto start = json.find(key);
  if (start == std::string::npos) return "";
  start += key.size();
  if (json[start] == '"') {
    ++start;
    return json.substr(start, json.find('"', start) - start);
  }
  return json.substr(start, json.find_first_of(",}", start) - start);
}

}  // namespace segflow::testing

namespace segflow::testing {

double metric_value(const MetricRegistry& registry, const std::string& name,
                    const std::vector<MetricLabel>& labels) {
  double total = 0;
  registry.for_each([&](const MetricRegistry::Family& f) {
    if (f.name != name) return;
    for (const auto& [key, series] : f.series) {
      const bool match = std::all_of(labels.begin(), labels.end(), [&](const MetricLabel& l) {
        return std::find(series.labels.begin(), series.labels.end(), l) != series.labels.end();
      });
      if (!match) continue;
      total += f.kind == MetricKind::kCounter ? static_cast<double>(series.counter.value())
                                              : series.gauge.value();
    }
  });
  return total;
}

}  // namespace segflow::testing

namespace segflow::testing {

std::string spec_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const SpecError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace segflow::testing

#include "engine/process_metrics.h"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

namespace segflow {

namespace {

const auto kStartSteady = std::chrono::steady_clock::now();
const double kStartUnix =
    std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

}  // namespace

ProcessSample sample_process() {
  ProcessSample s;
  // /proc/self/stat: "pid (comm) state ..." — fields after the last ')' are space separated;
  // utime and stime are fields 14 and 15, num_threads 20, rss (pages) 24.
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(text.substr(close + 2));
    std::string f;
    const long ticks = sysconf(_SC_CLK_TCK);
    const long page = sysconf(_SC_PAGESIZE);
    for (int field = 3; fields >> f; ++field) {
      if (field == 14 || field == 15) s.cpu_seconds += std::stod(f) / static_cast<double>(ticks);
      if (field == 20) s.threads = std::stod(f);
      if (field == 24) {
        s.resident_bytes = std::stod(f) * static_cast<double>(page);
        break;
      }
    }
  }
  std::error_code ec;
  double fds = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++fds;
  s.open_fds = fds;
  return s;
}

double process_uptime_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - kStartSteady).count();
}

double process_start_time_seconds() { return kStartUnix; }

}  // namespace segflow

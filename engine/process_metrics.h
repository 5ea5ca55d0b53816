// Process-level numbers for the metrics endpoint (segflow_process_*): resident memory, CPU
// time, thread count, from /proc/self on Linux. Thread safety: sample_process() is a pure
// read of /proc and may be called from any thread.
#pragma once

#include <cstdint>

namespace segflow {

struct ProcessSample {
  double resident_bytes = 0;
  double cpu_seconds = 0;  // user + system
  double threads = 0;
  double open_fds = 0;
};

// Fields that cannot be read stay 0.
ProcessSample sample_process();

// Seconds since the process started, from a steady clock captured at static init.
double process_uptime_seconds();
// Unix time (s) at which the process started, as process_start_time_seconds.
double process_start_time_seconds();

}  // namespace segflow

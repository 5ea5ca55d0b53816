// Runs a loaded job spec to completion: dead-letter output, executor, metrics endpoint,
// graceful stop on SIGINT/SIGTERM, and a closing summary. Thread safety: one job per
// process at a time (the signal handler targets the running job).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "runner/job_spec.h"

namespace segflow {

struct RunOptions {
  bool print_summary = true;
  bool handle_signals = true;
  std::ostream* summary_out = nullptr;  // default std::cerr
};

struct RunResult {
  double seconds = 0;
  uint64_t source_records = 0;
  uint64_t dead_letters = 0;
};

// Throws on operator failure (after stopping the job).
RunResult run_job(const JobSpec& spec, const RunOptions& options = {});

}  // namespace segflow

// Runs a loaded job spec to completion: dead-letter output, executor, metrics endpoint,
// graceful stop on SIGINT/SIGTERM, a savepoint on SIGUSR1, restore from a checkpoint (given,
// or the newest complete one in the spec's checkpoint dir; they are deleted when the job
// ends by itself), and a closing summary. Thread safety: one job per
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
  // A checkpoint or savepoint directory, or a directory of them (its newest complete one).
  std::string from_checkpoint;
};

struct RunResult {
  double seconds = 0;
  uint64_t source_records = 0;
  uint64_t dead_letters = 0;
};

// Throws on operator failure (after stopping the job).
RunResult run_job(const JobSpec& spec, const RunOptions& options = {});

}  // namespace segflow

// Runs a job in the test's process the way tests want it: no summary on stderr and no
// signal handlers (gtest owns the process). For runner tests (links segflow_runner).
#pragma once

#include "runner/job_runner.h"

namespace segflow::testing {

inline RunResult run_job_quietly(const JobSpec& spec) {
  RunOptions options;
  options.print_summary = false;
  options.handle_signals = false;
  return run_job(spec, options);
}

}  // namespace segflow::testing

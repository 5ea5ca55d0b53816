// Health of a running job for the HTTP endpoint: liveness, readiness (the job is running
// and its watermark is progressing) and a JSON status document (job graph, per-operator
// counts and watermarks). Thread safety: every member may be called from any thread (the
// HTTP server's); the probe keeps its state under a mutex.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace segflow {

class Executor;

class ReadinessProbe {
 public:
  struct Verdict {
    bool ready = false;
    std::string reason;  // one line, for the response body
  };
  // Not ready once the lowest watermark of the job has not moved for `stall_seconds`.
  explicit ReadinessProbe(double stall_seconds = 60) : stall_ns_(stall_seconds * 1e9) {}

  // Ready: the job is running and its lowest operator watermark has advanced within the
  // stall window (so a job is ready from its first watermark on).
  Verdict check(const Executor& executor);

 private:
  double stall_ns_;
  std::mutex mutex_;
  int64_t last_watermark_ = INT64_MIN;
  int64_t last_change_ns_ = 0;
};

// {"job","state","uptime_seconds","threads","operators":[{"id","kind","parallelism",
// "records_in","records_out","bytes_in","watermark","metrics":[{"name","labels":{...},
// "value"}]}],"edges":[{"from","to"}]}; `metrics` (when the operator publishes any,
// engine/operator_metrics.h: segment sizes, merges...) sums each series over subtasks;
// counts are totals since start (rates: take two samples, or use Prometheus).
std::string job_status_json(const std::string& job, const Executor& executor);

}  // namespace segflow

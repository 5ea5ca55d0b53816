// MetricsExporter: the job's HTTP endpoint. GET /metrics serves the runtime's counters to
// Prometheus (text format 0.0.4), /healthz (liveness), /readyz (job running, watermark
// progressing), /status (JSON job graph and counts). Values are read from the executor's
// atomics at request time, so the hot path pays nothing. Thread safety: requests run on the
// HTTP server's threads and only read atomics; construct and destroy on the owning thread.
#pragma once

#include <memory>
#include <string>

namespace segflow {

class Executor;
class DeadLetterOutput;

class MetricsExporter {
 public:
  // Starts listening on `address` ("host:port"; port 0 picks a free one). Throws
  // std::runtime_error when it cannot bind. `executor` and `dead_letters` must outlive it.
  MetricsExporter(const std::string& address, const std::string& job, const Executor& executor,
                  const DeadLetterOutput& dead_letters);
  ~MetricsExporter();
  MetricsExporter(const MetricsExporter&) = delete;
  MetricsExporter& operator=(const MetricsExporter&) = delete;
  int port() const;

 private:
  class Server;
  std::unique_ptr<Server> server_;
};

}  // namespace segflow

// MetricsExporter: serves the runtime's counters to Prometheus (GET /metrics) on a given
// address. Values are read from the executor's atomics at scrape time, so the hot path pays
// nothing for metrics. Thread safety: scrapes run on the HTTP server's threads and only read
// atomics; construct and destroy on the owning thread.
#pragma once

#include <memory>
#include <string>

namespace prometheus {
class Exposer;
}

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
  int port() const;

 private:
  class Collector;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<Collector> collector_;
};

}  // namespace segflow

// IngestMetrics: what the HTTP ingest exports about its requests (engine/operator_metrics.h):
// segflow_http_ingest_requests_total{endpoint, status} and
// segflow_http_ingest_request_bytes_total{endpoint} (bodies as received, before inflating).
// `endpoint` is track, identify, page, screen, group, alias, batch, import or other. Replies
// the HTTP server makes itself (malformed HTTP, a body over the size limit before it is
// read) never reach the handler and are not counted. A (endpoint, status) series is made on
// its first request; afterwards counting is two array reads and an atomic add.
// Thread safety: every method from any thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/operator_metrics.h"

namespace segflow {

class IngestMetrics {
 public:
  static constexpr size_t kEndpoints = 9;  // IngestEndpoint's 8, then "other"

  explicit IngestMetrics(OperatorMetrics metrics);

  // The endpoint index of a request target ("/v1/track?x" -> track's).
  static size_t endpoint_of(std::string_view target);
  void count_bytes(size_t endpoint, uint64_t bytes) { bytes_[endpoint]->inc(bytes); }
  void count_request(size_t endpoint, int status);

 private:
  static constexpr int kFirstStatus = 100;
  static constexpr int kStatuses = 500;  // 100..599; others count as 599

  OperatorMetrics metrics_;
  std::array<MetricCounter*, kEndpoints> bytes_{};
  std::array<std::array<std::atomic<MetricCounter*>, kStatuses>, kEndpoints> requests_{};
};

}  // namespace segflow

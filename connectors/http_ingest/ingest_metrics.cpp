#include "connectors/http_ingest/ingest_metrics.h"

#include <string>

#include "connectors/http_ingest/segment_request.h"

namespace segflow {

namespace {

constexpr std::array<const char*, IngestMetrics::kEndpoints> kEndpointNames = {
    "track", "identify", "page", "screen", "group", "alias", "batch", "import", "other"};

}  // namespace

IngestMetrics::IngestMetrics(OperatorMetrics metrics) : metrics_(std::move(metrics)) {
  for (size_t e = 0; e < kEndpoints; ++e)
    bytes_[e] = &metrics_.counter("segflow_http_ingest_request_bytes_total",
                                  "Request body bytes received by the HTTP ingest, by endpoint",
                                  {{"endpoint", kEndpointNames[e]}});
}

size_t IngestMetrics::endpoint_of(std::string_view target) {
  const auto endpoint = endpoint_from_target(target);
  return endpoint ? static_cast<size_t>(*endpoint) : kEndpoints - 1;
}

void IngestMetrics::count_request(size_t endpoint, int status) {
  const int index = status < kFirstStatus || status >= kFirstStatus + kStatuses
                        ? kStatuses - 1
                        : status - kFirstStatus;
  std::atomic<MetricCounter*>& slot = requests_[endpoint][static_cast<size_t>(index)];
  MetricCounter* counter = slot.load(std::memory_order_acquire);
  if (counter == nullptr) {
    // First request of this kind: the registry returns the same series to every thread.
    counter = &metrics_.counter(
        "segflow_http_ingest_requests_total", "Requests answered by the HTTP ingest",
        {{"endpoint", kEndpointNames[endpoint]}, {"status", std::to_string(index + kFirstStatus)}});
    slot.store(counter, std::memory_order_release);
  }
  counter->inc();
}

}  // namespace segflow

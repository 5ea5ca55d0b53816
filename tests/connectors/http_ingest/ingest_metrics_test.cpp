// Requests by endpoint and status, counted from many HTTP threads at once.
#include "connectors/http_ingest/ingest_metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tests/support/test_support.h"

namespace segflow {
namespace {

TEST(IngestMetricsTest, EndpointsOfTargets) {
  EXPECT_EQ(IngestMetrics::endpoint_of("/v1/track"), 0u);
  EXPECT_EQ(IngestMetrics::endpoint_of("/v1/batch?x=1"), 6u);
  EXPECT_EQ(IngestMetrics::endpoint_of("/v2/track"), IngestMetrics::kEndpoints - 1);
}

TEST(IngestMetricsTest, CountsRequestsByEndpointAndStatusFromManyThreads) {
  MetricRegistry registry;
  IngestMetrics metrics(OperatorMetrics(registry, "web", 0));
  constexpr int kThreads = 4;
  constexpr int kRequests = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&metrics] {
      for (int i = 0; i < kRequests; ++i) {
        const size_t endpoint = IngestMetrics::endpoint_of(i % 2 ? "/v1/track" : "/nowhere");
        metrics.count_bytes(endpoint, 10);
        metrics.count_request(endpoint, i % 2 ? 200 : 404);
      }
    });
  for (auto& t : threads) t.join();
  metrics.count_request(0, 42);  // not an HTTP status: counted as 599
  const auto value = [&](const char* name, std::vector<MetricLabel> labels) {
    return testing::metric_value(registry, name, labels);
  };
  constexpr double kHalf = kThreads * kRequests / 2;
  EXPECT_EQ(value("segflow_http_ingest_requests_total", {{"endpoint", "track"}, {"status", "200"}}),
            kHalf);
  EXPECT_EQ(value("segflow_http_ingest_requests_total", {{"endpoint", "other"}, {"status", "404"}}),
            kHalf);
  EXPECT_EQ(value("segflow_http_ingest_requests_total", {{"endpoint", "track"}, {"status", "599"}}),
            1);
  EXPECT_EQ(value("segflow_http_ingest_requests_total", {}), 2 * kHalf + 1);
  EXPECT_EQ(value("segflow_http_ingest_request_bytes_total", {{"endpoint", "track"}}), 10 * kHalf);
  EXPECT_EQ(value("segflow_http_ingest_request_bytes_total", {{"endpoint", "batch"}}), 0);
}

}  // namespace
}  // namespace segflow

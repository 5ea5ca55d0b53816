// The Prometheus endpoint serves the runtime's counters, read at scrape time.
#include "engine/metrics_exporter.h"

#include <gtest/gtest.h>

#include "engine/executor.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

class FiniteSource final : public Source {
 public:
  SourceStatus poll(Output& out) override {
    for (int i = 0; i < 100; ++i, ++emitted_)
      out.add(EventKind::kTrack, "k" + std::to_string(i % 7), kStart + emitted_, intern("e"));
    return emitted_ >= 1000 ? SourceStatus::kEnd : SourceStatus::kMore;
  }

 private:
  static constexpr int64_t kStart = 1'700'000'000'000;
  int64_t emitted_ = 0;
};

class Discard final : public Operator {
 public:
  void process(const Batch&, Output&) override {}
};

TEST(MetricsExporterTest, ServesRecordCountsWatermarksChannelsAndDeadLetters) {
  LogicalGraph g;
  LogicalNode src;
  src.id = "src";
  src.make_source = [] { return std::make_unique<FiniteSource>(); };
  g.add(src);
  LogicalNode sink;
  sink.id = "sink";
  sink.parallelism = 2;
  sink.inputs = {{"src", Partitioning::kHash}};
  sink.make_operator = [] { return std::make_unique<Discard>(); };
  g.add(sink);
  g.validate();
  DeadLetterOutput dead;
  dead.send("src:1", "malformed json", "{");
  JobSettings settings;
  Executor executor(g, settings, {&SystemClock::instance(), &dead});
  MetricsExporter exporter("127.0.0.1:0", "test", executor, dead);
  ASSERT_GT(exporter.port(), 0);
  executor.run();

  const std::string body = testing::http_get(exporter.port(), "/metrics");
  for (const char* expected : {
           "segflow_records_out_total{job=\"test\",operator=\"src\",subtask=\"0\"} 1000",
           "segflow_records_in_total{job=\"test\",operator=\"sink\",subtask=\"0\"}",
           "segflow_records_in_total{job=\"test\",operator=\"sink\",subtask=\"1\"}",
           "segflow_watermark_ms{job=\"test\",operator=\"sink\",subtask=\"0\"} +Inf",
           "segflow_channel_fill_ratio{job=\"test\",channel=\"src#0->sink#1\"} 0",
           "segflow_backpressure_seconds_total{job=\"test\",channel=\"src#0->sink#0\"}",
           "segflow_dead_letters_total{job=\"test\",reason=\"malformed json\"} 1",
       }) {
    EXPECT_NE(body.find(expected), std::string::npos) << expected << "\n" << body;
  }
  // Both sink subtasks together received every record.
  uint64_t in = 0;
  for (const OperatorStats& s : executor.operator_stats())
    if (s.operator_id == "sink") in += s.records_in.load();
  EXPECT_EQ(in, 1000u);
}

}  // namespace
}  // namespace segflow

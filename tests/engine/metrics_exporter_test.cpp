// The Prometheus endpoint serves the runtime's counters, read at scrape time.
#include "engine/metrics_exporter.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

#include "engine/executor.h"
#include "tests/support/graph_support.h"
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

// Emits 10 records a millisecond for about a third of a second.
class SlowSource final : public Source {
 public:
  SourceStatus poll(Output& out) override {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (int i = 0; i < 10; ++i, ++emitted_)
      out.add(EventKind::kTrack, "k" + std::to_string(i), 1'700'000'000'000 + emitted_,
              intern("e"));
    return emitted_ >= 3000 ? SourceStatus::kEnd : SourceStatus::kMore;
  }

 private:
  int64_t emitted_ = 0;
};

class Discard final : public Operator {
 public:
  void process(const Batch&, Output&) override {}
};

// `src` (one subtask) hash-partitioned to a discarding sink of two subtasks.
LogicalGraph source_to_two_sinks(SourceFactory make_source) {
  LogicalGraph g;
  g.add(testing::source_node("src", 1, std::move(make_source)));
  g.add(testing::operator_node("sink", 2, {{"src", Partitioning::kHash}},
                               [] { return std::make_unique<Discard>(); }));
  g.validate();
  return g;
}

TEST(MetricsExporterTest, ServesRecordCountsWatermarksChannelsAndDeadLetters) {
  const LogicalGraph g = source_to_two_sinks([] { return std::make_unique<FiniteSource>(); });
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
           "segflow_watermark_seconds{job=\"test\",operator=\"sink\",subtask=\"0\"} +Inf",
           "segflow_channel_fill_ratio{job=\"test\",channel=\"src#0->sink#1\"} 0",
           "segflow_backpressure_seconds_total{job=\"test\",channel=\"src#0->sink#0\"}",
           "segflow_dead_letters_total{job=\"test\",operator=\"src\",reason=\"malformed json\"} 1",
           "segflow_late_events_total{job=\"test\"} 0",
           "segflow_source_bytes_in_total{job=\"test\",operator=\"src\",subtask=\"0\"} 0",
           "segflow_subtask_busy_seconds_total{job=\"test\",operator=\"sink\",subtask=\"1\"}",
           "segflow_subtask_idle_seconds_total{job=\"test\",operator=\"src\",subtask=\"0\"}",
           "segflow_subtask_backpressured_seconds_total{job=\"test\",operator=\"src\"",
           "segflow_job_running{job=\"test\"} 0",
           "segflow_process_resident_memory_bytes{job=\"test\"}",
           "segflow_process_cpu_seconds_total{job=\"test\"}",
           "segflow_process_threads{job=\"test\"}",
           "segflow_uptime_seconds{job=\"test\"}",
           "segflow_build_info{job=\"test\",version=\"",
           "# HELP segflow_subtask_busy_seconds_total ",
           "# TYPE segflow_records_in_total counter",
       }) {
    EXPECT_NE(body.find(expected), std::string::npos) << expected << "\n" << body;
  }
  // Both sink subtasks together received every record.
  uint64_t in = 0;
  for (const OperatorStats& s : executor.operator_stats())
    if (s.operator_id == "sink") in += s.records_in.load();
  EXPECT_EQ(in, 1000u);

  // Health endpoints on the same port: alive, but no longer ready once the job ended.
  EXPECT_EQ(testing::http_get(exporter.port(), "/healthz"), "ok\n");
  EXPECT_EQ(testing::http_get(exporter.port(), "/readyz"), "job is finished\n");
  const std::string status = testing::http_get(exporter.port(), "/status");
  for (const char* expected : {
           "\"job\":\"test\"",
           "\"state\":\"finished\"",
           "{\"id\":\"src\",\"kind\":\"source\",\"parallelism\":1,\"records_out\":1000,",
           "{\"id\":\"sink\",\"kind\":\"operator\",\"parallelism\":2,\"records_in\":1000,",
           "\"edges\":[{\"from\":\"src\",\"to\":\"sink\"}]",
       }) {
    EXPECT_NE(status.find(expected), std::string::npos) << expected << "\n" << status;
  }
}

// A sink that publishes its own metrics (engine/operator_metrics.h).
class PublishingSink final : public Operator {
 public:
  void open(OperatorContext& ctx) override {
    Operator::open(ctx);
    records_ = &ctx.metrics().counter("segflow_test_records_total", "Records seen by the test",
                                      {{"kind", "track"}});
    last_batch_ = &ctx.metrics().gauge("segflow_test_last_batch_size", "Last batch's size");
  }
  void process(const Batch& in, Output&) override {
    records_->inc(in.size());
    last_batch_->set(static_cast<double>(in.size()));
  }

 private:
  MetricCounter* records_ = nullptr;
  MetricGauge* last_batch_ = nullptr;
};

TEST(MetricsExporterTest, ServesOperatorMetricsAndTheLatencyHistogram) {
  LogicalGraph g;
  g.add(testing::source_node("src", 1, [] { return std::make_unique<FiniteSource>(); }));
  g.add(testing::operator_node("sink", 2, {{"src", Partitioning::kHash}},
                               [] { return std::make_unique<PublishingSink>(); }));
  g.validate();
  DeadLetterOutput dead;
  Executor executor(g, JobSettings{}, {&SystemClock::instance(), &dead});
  MetricsExporter exporter("127.0.0.1:0", "test", executor, dead);
  executor.run();

  const std::string body = testing::http_get(exporter.port(), "/metrics");
  for (const OperatorStats& s : executor.operator_stats()) {
    if (s.operator_id != "sink") continue;
    const std::string labels =
        "job=\"test\",operator=\"sink\",subtask=\"" + std::to_string(s.subtask) + "\"";
    const std::string in = std::to_string(s.records_in.load());
    for (const std::string& expected : {
             "segflow_test_records_total{" + labels + ",kind=\"track\"} " + in + "\n",
             "segflow_test_last_batch_size{" + labels + "} ",
             // Every record the sink received came from the source: all observed.
             "segflow_end_to_end_latency_seconds_count{" + labels + "} " + in + "\n",
             "segflow_end_to_end_latency_seconds_bucket{" + labels + ",le=\"+Inf\"} " + in + "\n",
             "segflow_end_to_end_latency_seconds_bucket{" + labels + ",le=\"0.001\"} ",
             "segflow_end_to_end_latency_seconds_sum{" + labels + "} ",
         })
      EXPECT_NE(body.find(expected), std::string::npos) << expected << "\n" << body;
  }
  for (const char* expected :
       {"# TYPE segflow_test_records_total counter", "# TYPE segflow_test_last_batch_size gauge",
        "# HELP segflow_test_records_total Records seen by the test",
        "# TYPE segflow_end_to_end_latency_seconds histogram"})
    EXPECT_NE(body.find(expected), std::string::npos) << expected << "\n" << body;
  // /status sums each published series over the subtasks.
  const std::string status = testing::http_get(exporter.port(), "/status");
  EXPECT_NE(status.find("\"metrics\":[{\"name\":\"segflow_test_last_batch_size\",\"labels\":{},"
                        "\"value\":"),
            std::string::npos)
      << status;
  EXPECT_NE(status.find("{\"name\":\"segflow_test_records_total\",\"labels\":{\"kind\":"
                        "\"track\"},\"value\":1000}"),
            std::string::npos)
      << status;
  // Only sinks have the histogram.
  EXPECT_EQ(body.find("segflow_end_to_end_latency_seconds_count{job=\"test\",operator=\"src\""),
            std::string::npos);
}

TEST(MetricsExporterTest, SubtaskTimeAddsUpToWallClock) {
  LogicalGraph g;
  g.add(testing::source_node("src", 1, [] { return std::make_unique<FiniteSource>(); }));
  g.add(testing::operator_node("sink", 1, {{"src", Partitioning::kRebalance}},
                               [] { return std::make_unique<Discard>(); }));
  g.validate();
  DeadLetterOutput dead;
  Executor executor(g, JobSettings{}, {&SystemClock::instance(), &dead});
  executor.run();
  ASSERT_EQ(executor.subtask_stats().size(), 2u);
  for (const SubtaskStats& s : executor.subtask_stats()) {
    const int64_t started = s.started_ns.load();
    const int64_t finished = s.finished_ns.load();
    EXPECT_GT(started, 0);
    EXPECT_GE(finished, started);
    EXPECT_LE(static_cast<int64_t>(s.idle_ns.load()), finished - started);
  }
  EXPECT_EQ(executor.subtask_stats()[0].outputs.size(), 1u);  // src -> sink
  EXPECT_TRUE(executor.subtask_stats()[1].outputs.empty());
  EXPECT_EQ(executor.state(), JobState::kFinished);
}

// Scrapes every endpoint while the job runs (the ThreadSanitizer run checks the reads).
TEST(MetricsExporterTest, ScrapesWhileTheJobRuns) {
  const LogicalGraph g = source_to_two_sinks([] { return std::make_unique<SlowSource>(); });
  DeadLetterOutput dead;
  Executor executor(g, JobSettings{}, {&SystemClock::instance(), &dead});
  MetricsExporter exporter("127.0.0.1:0", "test", executor, dead);
  std::atomic<bool> done{false};
  std::thread job([&] {
    executor.run();
    done = true;
  });
  int scrapes = 0;
  do {
    EXPECT_NE(testing::http_get(exporter.port(), "/metrics").find("segflow_build_info"),
              std::string::npos);
    EXPECT_NE(testing::http_get(exporter.port(), "/status").find("\"edges\""), std::string::npos);
    testing::http_get(exporter.port(), "/readyz");
    ++scrapes;
  } while (!done || scrapes < 3);
  job.join();
  EXPECT_GT(scrapes, 3);  // some scrapes overlapped the run
}

TEST(MetricsExporterTest, ABusyPortIsAnError) {
  LogicalGraph g;
  g.add(testing::source_node("src", 1, [] { return std::make_unique<FiniteSource>(); }));
  g.validate();
  DeadLetterOutput dead;
  Executor executor(g, JobSettings{}, {&SystemClock::instance(), &dead});
  MetricsExporter first("127.0.0.1:0", "test", executor, dead);
  const std::string taken = "127.0.0.1:" + std::to_string(first.port());
  EXPECT_THROW(MetricsExporter(taken, "test", executor, dead), std::runtime_error);
  EXPECT_EQ(testing::http_get(first.port(), "/readyz"), "job is created\n");
}

TEST(MetricsExporterTest, ServesCheckpointFigures) {
  testing::TempDir dir;
  LogicalGraph g;
  g.add(testing::source_node("src", 1, [] { return std::make_unique<SlowSource>(); }));
  g.add(testing::operator_node("sink", 1, {{"src", Partitioning::kHash}},
                               [] { return std::make_unique<Discard>(); }));
  g.validate();
  DeadLetterOutput dead;
  JobSettings settings;
  settings.checkpoints = {5, dir.file("checkpoints"), 2};
  Executor executor(g, settings, {&SystemClock::instance(), &dead});
  MetricsExporter exporter("127.0.0.1:0", "test", executor, dead);
  executor.run();
  const CheckpointStats& stats = *executor.checkpoint_stats();
  const std::string body = testing::http_get(exporter.port(), "/metrics");
  for (const std::string& expected : {
           "segflow_checkpoint_last_completed_id{job=\"test\"} " +
               std::to_string(stats.last_completed_id.load()),
           "segflow_checkpoints_completed_total{job=\"test\"} " +
               std::to_string(stats.completed.load()),
           "segflow_checkpoint_last_size_bytes{job=\"test\"} " +
               std::to_string(stats.last_size_bytes.load()),
           std::string("segflow_checkpoints_failed_total{job=\"test\"} 0"),
           std::string("segflow_checkpoint_last_duration_seconds{job=\"test\"}"),
           std::string("segflow_checkpoint_last_alignment_seconds{job=\"test\"}"),
           std::string("segflow_checkpoint_last_sync_seconds{job=\"test\"}"),
           std::string("segflow_checkpoint_last_async_seconds{job=\"test\"}"),
           std::string("segflow_checkpoint_restored_id{job=\"test\"} 0"),
       })
    EXPECT_NE(body.find(expected), std::string::npos) << expected << "\n" << body;
}

}  // namespace
}  // namespace segflow

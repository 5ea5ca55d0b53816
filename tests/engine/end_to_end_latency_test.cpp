// The per-batch ingest stamp travels from the source to the sinks through chained operators,
// channels (forward and hash) and operators that merge batches; records a timer or watermark
// made carry none; sinks observe the latency of what has a stamp.
#include <algorithm>
#include <cctype>
#include <memory>
#include <mutex>
#include <ostream>
#include <vector>

#include <gtest/gtest.h>

#include "engine/executor.h"
#include "tests/support/graph_support.h"

namespace segflow {
namespace {

constexpr int64_t kStampBase = 1'000;  // poll i's records are stamped kStampBase + i
constexpr int kPolls = 300;
constexpr int kRecordsPerPoll = 10;

// Each poll stamps its records explicitly (overriding the runtime's poll time).
class StampingSource final : public Source {
 public:
  SourceStatus poll(Output& out) override {
    out.set_ingest_cause(kStampBase + poll_);
    for (int i = 0; i < kRecordsPerPoll; ++i)
      out.add(EventKind::kTrack, "k" + std::to_string(poll_ * 7 + i), 1'700'000'000'000 + poll_,
              intern("e"))
          .set("poll", Value::integer(poll_));
    return ++poll_ >= kPolls ? SourceStatus::kEnd : SourceStatus::kMore;
  }

 private:
  int64_t poll_ = 0;
};

// Forwards every record (its output batches mix several input batches), record by record or
// as whole batches (Output::forward_all), and emits a "tick" record at every watermark,
// which has no ingest cause.
class ForwardAndTick final : public Operator {
 public:
  explicit ForwardAndTick(bool whole_batches) : whole_batches_(whole_batches) {}
  void process(const Batch& in, Output& out) override {
    if (whole_batches_) {
      out.forward_all(in);
      return;
    }
    for (const Record& r : in.records()) out.forward(in, r);
  }
  // In a batch of its own: a batch mixing it with forwarded records would carry their stamp.
  void on_watermark(int64_t watermark, Output& out) override {
    if (watermark == kMaxTime) return;
    out.flush();
    out.add(EventKind::kDerived, "tick", watermark + 1, intern("tick"));
    out.flush();
  }

 private:
  bool whole_batches_;
};

// What each sink batch carried: its stamp, and the stamp its records' polls imply.
struct SinkLog {
  std::mutex mutex;
  std::vector<std::pair<int64_t, int64_t>> stamps;  // (batch stamp, expected)
  uint64_t stamped_records = 0;
  uint64_t ticks = 0;
};

class RecordingSink final : public Operator {
 public:
  explicit RecordingSink(std::shared_ptr<SinkLog> log) : log_(std::move(log)) {}
  void process(const Batch& in, Output&) override {
    int64_t expected = kNoIngestTime;
    uint64_t ticks = 0;
    for (const Record& r : in.records()) {
      if (const Value* poll = in.find(r, intern("poll")))
        expected = std::min(expected, kStampBase + poll->as_int());
      else
        ++ticks;
    }
    std::lock_guard lock(log_->mutex);
    log_->stamps.emplace_back(in.ingest_ns(), expected);
    if (in.ingest_ns() != kNoIngestTime) log_->stamped_records += in.size();
    log_->ticks += ticks;
  }

 private:
  std::shared_ptr<SinkLog> log_;
};

struct Shape {
  const char* name;
  bool chaining;
  Partitioning to_sink;
  uint32_t sink_parallelism;
  // `pass` forwards whole batches, handed on without a copy (batch size 16 < a poll's 10
  // records * 2): through a chain, a hash channel or a forward channel.
  bool whole_batches = false;
};
void PrintTo(const Shape& shape, std::ostream* os) { *os << shape.name; }

class EndToEndLatencyTest : public ::testing::TestWithParam<Shape> {};

TEST_P(EndToEndLatencyTest, StampIsTheEarliestOfTheEventsInEachBatch) {
  const Shape shape = GetParam();
  auto log = std::make_shared<SinkLog>();
  LogicalGraph g;
  g.add(testing::source_node("src", 1, [] { return std::make_unique<StampingSource>(); }));
  g.add(testing::operator_node("pass", 1, {{"src", Partitioning::kForward}}, [shape] {
    return std::make_unique<ForwardAndTick>(shape.whole_batches);
  }));
  g.add(testing::operator_node("sink", shape.sink_parallelism, {{"pass", shape.to_sink}},
                               [log] { return std::make_unique<RecordingSink>(log); }));
  g.validate();
  JobSettings settings;
  settings.chaining = shape.chaining;
  settings.watermark_interval_ms = 0;  // a watermark (and a tick) after every poll
  settings.batch_size = shape.whole_batches ? 16 : 64;
  DeadLetterOutput dead;
  Executor executor(g, settings, {&SystemClock::instance(), &dead});
  executor.run();

  ASSERT_FALSE(log->stamps.empty());
  for (const auto& [stamp, expected] : log->stamps) {
    if (shape.to_sink == Partitioning::kForward) {
      EXPECT_EQ(stamp, expected) << shape.name;
    } else {
      // Hash routing splits a batch: each part keeps the whole batch's stamp, which is never
      // later than its own records' (the latency observed is an upper bound).
      EXPECT_LE(stamp, expected) << shape.name;
      EXPECT_EQ(stamp == kNoIngestTime, expected == kNoIngestTime) << shape.name;
    }
  }
  EXPECT_GT(log->ticks, 0u);  // timer-made records reached the sink...
  // ...and the sinks observed exactly the records of stamped batches.
  uint64_t observed = 0;
  for (const OperatorStats& s : executor.operator_stats()) {
    EXPECT_EQ(s.is_sink, s.operator_id == "sink");
    if (s.is_sink) observed += s.end_to_end_latency.count();
  }
  EXPECT_EQ(observed, log->stamped_records);
  EXPECT_GE(observed, uint64_t{kPolls} * kRecordsPerPoll);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, EndToEndLatencyTest,
    ::testing::Values(
        Shape{"chained forward, then a hash channel", true, Partitioning::kHash, 2},
        Shape{"every edge a channel", false, Partitioning::kHash, 2},
        Shape{"one chain, sink included", true, Partitioning::kForward, 1},
        Shape{"forward channels only", false, Partitioning::kForward, 1},
        Shape{"whole batches, chained, then a hash channel", true, Partitioning::kHash, 2, true},
        Shape{"whole batches, one chain", true, Partitioning::kForward, 1, true},
        Shape{"whole batches, forward channels", false, Partitioning::kForward, 1, true}),
    [](const ::testing::TestParamInfo<Shape>& info) {
      std::string name = info.param.name;
      std::replace_if(
          name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
      return name;
    });

TEST(LatencyHistogramTest, BucketsAreCumulativeInTheExpositionAndWeighted) {
  LatencyHistogram h;
  h.observe(500'000, 3);         // 0.5 ms: first bucket (bounds are inclusive), three records
  h.observe(20'000'000);         // 20 ms
  h.observe(-5);                 // clock skew: counted as 0
  h.observe(1'000'000'000'000);  // 1000 s: above every bound
  EXPECT_EQ(h.bucket(0), 4u);
  EXPECT_EQ(h.bucket(9), 1u);  // (15 ms, 20 ms]
  EXPECT_EQ(h.bucket(LatencyHistogram::kBounds.size()), 1u);
  EXPECT_EQ(h.count(), 6u);
  EXPECT_DOUBLE_EQ(h.sum_seconds(), 0.0015 + 0.02 + 1000);
}

}  // namespace
}  // namespace segflow

// Executor end to end with test-local operators: partitioning, parallelism invariance,
// watermarks, idle sources, timers at end of stream, backpressure, graceful stop, failures.
#include "engine/executor.h"
#include "tests/support/graph_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace segflow {
namespace {

// Emits `count` records with keys k0..k{keys-1} and increasing times, `per_poll` per poll;
// optional endless mode.
class CountingSource final : public Source {
 public:
  CountingSource(int64_t count, int keys, int64_t start_time = 0, int per_poll = 100)
      : count_(count), keys_(keys), time_(start_time), per_poll_(per_poll) {}
  SourceStatus poll(Output& out) override {
    for (int i = 0; i < per_poll_ && (count_ < 0 || emitted_ < count_); ++i, ++emitted_) {
      const std::string key = "k" + std::to_string(emitted_ % keys_);
      out.add(EventKind::kTrack, key, time_++, intern("tick"))
          .set("n", Value::integer(emitted_ + ctx().subtask * 1'000'000));
    }
    return count_ >= 0 && emitted_ >= count_ ? SourceStatus::kEnd : SourceStatus::kMore;
  }

 private:
  int64_t count_;
  int keys_;
  int64_t time_;
  int per_poll_;
  int64_t emitted_ = 0;
};

// A source that emits nothing and says so, until the job stops.
class SilentSource final : public Source {
 public:
  SourceStatus poll(Output&) override { return SourceStatus::kIdle; }
};

// Emits one record with key "k" at `time`, then nothing (idle) until the job stops.
class BriefSource final : public Source {
 public:
  explicit BriefSource(int64_t time = 0) : time_(time) {}
  SourceStatus poll(Output& out) override {
    if (sent_) return SourceStatus::kIdle;
    sent_ = true;
    out.add(EventKind::kTrack, "k", time_, intern("tick"));
    return SourceStatus::kMore;
  }

 private:
  int64_t time_;
  bool sent_ = false;
};

// Shared by the sink subtasks of one test.
struct Collected {
  std::mutex mutex;
  std::vector<std::string> lines;
  std::map<std::string, std::set<uint32_t>> subtasks_of_key;
  std::vector<int64_t> watermarks;
  void add(const std::string& line) {
    std::lock_guard l(mutex);
    lines.push_back(line);
  }
};

// Counts records per key; emits "key=count" at end of stream (via an event-time timer at
// the end of time), and records which subtask saw which key.
class KeyedCount final : public Operator {
 public:
  explicit KeyedCount(Collected& c) : collected_(c) {}
  void open(OperatorContext& ctx) override {
    Operator::open(ctx);
    counts_ = std::make_unique<ValueState<int64_t>>(ctx.state_scope());
  }
  void process(const Batch& in, Output&) override {
    for (const Record& r : in.records()) {
      ++counts_->get_or_create(r.key);
      ctx().timers->register_timer(TimeDomain::kEventTime, 1'000'000'000, r.key);
      std::lock_guard l(collected_.mutex);
      collected_.subtasks_of_key[std::string(r.key)].insert(ctx().subtask);
    }
  }
  void on_timer(const Timer& t, Output& out) override {
    out.add(EventKind::kDerived, t.key, t.time, intern("count"))
        .set("count", Value::integer(*counts_->get(t.key)));
  }

 private:
  Collected& collected_;
  std::unique_ptr<ValueState<int64_t>> counts_;
};

class CollectSink final : public Operator {
 public:
  CollectSink(Collected& c, std::chrono::microseconds delay = {}) : collected_(c), delay_(delay) {}
  void process(const Batch& in, Output&) override {
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    for (const Record& r : in.records()) {
      std::string line(r.key);
      for (const Property& p : in.properties(r))
        line += " " + std::string(symbol_name(p.name)) + "=" + std::to_string(p.value.as_int());
      collected_.add(line);
    }
  }
  void on_watermark(int64_t wm, Output&) override {
    std::lock_guard l(collected_.mutex);
    collected_.watermarks.push_back(wm);
  }

 private:
  Collected& collected_;
  std::chrono::microseconds delay_;
};

class Throwing final : public Operator {
 public:
  void process(const Batch&, Output&) override { throw std::runtime_error("boom"); }
};

DeadLetterOutput& dead_letters() {
  static DeadLetterOutput d;
  return d;
}

// `per_poll`: records per source poll; polls of at least half a batch (512) are routed by
// reference (router.h), smaller ones copied.
std::vector<std::string> run_keyed_count(uint32_t parallelism, size_t channel_capacity = 64,
                                         int per_poll = 100) {
  Collected collected;
  LogicalGraph g;
  g.add(testing::source_node(
      "src", 1, [=] { return std::make_unique<CountingSource>(10'000, 97, 0, per_poll); }));
  g.add(testing::operator_node("count", parallelism, {{"src", Partitioning::kHash}},
                               [&] { return std::make_unique<KeyedCount>(collected); }));
  g.add(testing::operator_node("sink", 1, {{"count", Partitioning::kRebalance}},
                               [&] { return std::make_unique<CollectSink>(collected); }));
  g.validate();
  JobSettings s;
  s.parallelism = parallelism;
  s.channel_capacity = channel_capacity;
  Executor e(g, s, {&SystemClock::instance(), &dead_letters()});
  e.run();
  for (const auto& [key, subtasks] : collected.subtasks_of_key)
    EXPECT_EQ(subtasks.size(), 1u) << key << " was seen by more than one subtask";
  std::sort(collected.lines.begin(), collected.lines.end());
  return collected.lines;
}

TEST(ExecutorTest, KeyedCountsAreExactAndIndependentOfParallelism) {
  const auto p1 = run_keyed_count(1);
  ASSERT_EQ(p1.size(), 97u);
  // 10,000 records over 97 keys: keys 0..9 get 104, the others 103.
  EXPECT_NE(std::find(p1.begin(), p1.end(), "k0 count=104"), p1.end());
  EXPECT_NE(std::find(p1.begin(), p1.end(), "k96 count=103"), p1.end());
  EXPECT_EQ(run_keyed_count(2), p1);
  EXPECT_EQ(run_keyed_count(4), p1);
  EXPECT_EQ(run_keyed_count(3, /*channel_capacity=*/2), p1);
  // Routed by reference: selections of the source's batches, read by several threads.
  EXPECT_EQ(run_keyed_count(1, 64, /*per_poll=*/600), p1);
  EXPECT_EQ(run_keyed_count(2, 64, /*per_poll=*/600), p1);
  EXPECT_EQ(run_keyed_count(3, /*channel_capacity=*/2, /*per_poll=*/1000), p1);
}

TEST(ExecutorTest, ChainsForwardOperatorsIntoOneThread) {
  Collected collected;
  LogicalGraph g;
  g.add(testing::source_node("src", 2, [] { return std::make_unique<CountingSource>(1000, 10); }));
  g.add(testing::operator_node("sink", 2, {{"src", Partitioning::kForward}},
                               [&] { return std::make_unique<CollectSink>(collected); }));
  g.validate();
  JobSettings s;
  Executor e(g, s, {&SystemClock::instance(), &dead_letters()});
  EXPECT_EQ(e.plan().chains.size(), 1u);
  EXPECT_EQ(e.thread_count(), 2u);
  EXPECT_TRUE(e.channels().empty());
  e.run();
  EXPECT_EQ(collected.lines.size(), 2000u);
}

TEST(ExecutorTest, WatermarksAreMonotonicAndEndAtMaxTime) {
  Collected collected;
  LogicalGraph g;
  g.add(testing::source_node("a", 1, [] { return std::make_unique<CountingSource>(5000, 5, 0); }));
  g.add(testing::source_node("b", 1,
                             [] { return std::make_unique<CountingSource>(5000, 5, 100'000); }));
  g.add(testing::operator_node("sink", 1,
                               {{"a", Partitioning::kForward}, {"b", Partitioning::kForward}},
                               [&] { return std::make_unique<CollectSink>(collected); }));
  g.validate();
  JobSettings s;
  s.watermark_interval_ms = 0;  // a watermark after every poll
  s.out_of_orderness_ms = 10;
  Executor e(g, s, {&SystemClock::instance(), &dead_letters()});
  e.run();
  ASSERT_FALSE(collected.watermarks.empty());
  EXPECT_TRUE(std::is_sorted(collected.watermarks.begin(), collected.watermarks.end()));
  EXPECT_EQ(collected.watermarks.back(), kMaxTime);
  // Until source a ended, the minimum was held back by it (its times are < 5000).
  for (int64_t wm : collected.watermarks) {
    if (wm != kMaxTime) {
      EXPECT_LT(wm, 100'000 + 5000);
    }
  }
  EXPECT_EQ(collected.lines.size(), 10'000u);
}

TEST(ExecutorTest, IdleSourceStopsHoldingTheWatermarkBack) {
  Collected collected;
  LogicalGraph g;
  g.add(testing::source_node("busy", 1, [] { return std::make_unique<CountingSource>(-1, 5, 0); }));
  g.add(testing::source_node("idle", 1, [] { return std::make_unique<SilentSource>(); }));
  g.add(testing::operator_node(
      "sink", 1, {{"busy", Partitioning::kForward}, {"idle", Partitioning::kForward}},
      [&] { return std::make_unique<CollectSink>(collected, std::chrono::microseconds(200)); }));
  g.validate();
  JobSettings s;
  s.watermark_interval_ms = 0;
  s.idle_timeout_ms = 20;
  Executor e(g, s, {&SystemClock::instance(), &dead_letters()});
  std::thread stopper([&] {
    for (int i = 0; i < 400; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      std::lock_guard l(collected.mutex);
      if (collected.watermarks.size() > 3) break;
    }
    e.stop();
  });
  e.run();
  stopper.join();
  // Watermarks before the end prove the idle input was excused.
  ASSERT_GE(collected.watermarks.size(), 2u);
  EXPECT_GT(collected.watermarks.front(), kMinTime);
}

// A source that runs out of input releases what it emitted with a watermark at once, not
// at the next interval: here the interval never elapses (the manual clock stands still),
// so only the idle source's watermark can reach the sink before the job stops.
TEST(ExecutorTest, SourceEmitsItsWatermarkWhenItRunsOutOfInput) {
  Collected collected;
  ManualClock clock(5000);
  LogicalGraph g;
  g.add(
      testing::source_node("src", 1, [] { return std::make_unique<BriefSource>(/*time=*/1000); }));
  g.add(testing::operator_node("sink", 2, {{"src", Partitioning::kHash}},
                               [&] { return std::make_unique<CollectSink>(collected); }));
  g.validate();
  JobSettings s;
  s.watermark_interval_ms = 3'600'000;
  s.out_of_orderness_ms = 100;
  s.idle_timeout_ms = 1'000'000;
  Executor e(g, s, {&clock, &dead_letters()});
  std::thread stopper([&] {
    for (int i = 0; i < 10'000; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::lock_guard l(collected.mutex);
      if (collected.watermarks.size() >= 2) break;  // one per sink subtask
    }
    e.stop();
  });
  e.run();
  stopper.join();
  // Before the end of stream (kMaxTime), each sink subtask saw 1000 - 100 - 1.
  ASSERT_GE(collected.watermarks.size(), 2u);
  EXPECT_EQ(collected.watermarks[0], 899);
  EXPECT_EQ(collected.watermarks[1], 899);
  EXPECT_EQ(collected.lines, (std::vector<std::string>{"k"}));
}

TEST(ExecutorTest, SlowSinkBackpressuresWithoutLosingRecords) {
  Collected collected;
  LogicalGraph g;
  g.add(
      testing::source_node("src", 1, [] { return std::make_unique<CountingSource>(100'000, 50); }));
  g.add(testing::operator_node("sink", 1, {{"src", Partitioning::kRebalance}}, [&] {
    return std::make_unique<CollectSink>(collected, std::chrono::microseconds(100));
  }));
  g.validate();
  JobSettings s;
  s.chaining = false;
  s.channel_capacity = 2;
  s.batch_size = 100;
  Executor e(g, s, {&SystemClock::instance(), &dead_letters()});
  const size_t in_use_before = BatchPool::in_use();
  BatchPool::reset_peak();
  e.run();
  EXPECT_EQ(collected.lines.size(), 100'000u);
  // 1,000 batches flowed, but memory stayed bounded: at most the channel's 2 plus the few
  // in the hands of the source and the sink were alive at once.
  EXPECT_LE(BatchPool::peak_in_use() - in_use_before, 8u);
  ASSERT_EQ(e.channels().size(), 1u);
  EXPECT_GT(e.channels()[0]->blocked_ns(), 0u);
  EXPECT_EQ(e.channels()[0]->size(), 0u);
}

TEST(ExecutorTest, StopDrainsEverythingTheSourcesEmitted) {
  Collected collected;
  LogicalGraph g;
  g.add(testing::source_node("src", 2, [] { return std::make_unique<CountingSource>(-1, 50); }));
  g.add(testing::operator_node("sink", 1, {{"src", Partitioning::kRebalance}},
                               [&] { return std::make_unique<CollectSink>(collected); }));
  g.validate();
  JobSettings s;
  s.channel_capacity = 4;
  Executor e(g, s, {&SystemClock::instance(), &dead_letters()});
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    e.stop();
  });
  e.run();
  stopper.join();
  uint64_t emitted = 0;
  for (const OperatorStats& st : e.operator_stats())
    if (st.is_source) emitted += st.records_out.load();
  EXPECT_GT(emitted, 0u);
  EXPECT_EQ(collected.lines.size(), emitted);
}

TEST(ExecutorTest, BroadcastSendsEveryRecordToEverySubtask) {
  Collected collected;
  LogicalGraph g;
  g.add(testing::source_node("src", 1, [] { return std::make_unique<CountingSource>(1000, 10); }));
  g.add(testing::operator_node("all", 3, {{"src", Partitioning::kBroadcast}},
                               [&] { return std::make_unique<CollectSink>(collected); }));
  g.validate();
  JobSettings s;
  Executor e(g, s, {&SystemClock::instance(), &dead_letters()});
  e.run();
  EXPECT_EQ(collected.lines.size(), 3000u);
  for (const OperatorStats& st : e.operator_stats()) {
    if (st.operator_id == "all") {
      EXPECT_EQ(st.records_in.load(), 1000u);
    }
  }
}

// Registers a processing-time timer 1 s after the first record; emits when it fires.
class ProcessingTimeAlarm final : public Operator {
 public:
  void process(const Batch& in, Output&) override {
    if (!armed_ && !in.empty()) {
      armed_ = true;
      ctx().timers->register_timer(TimeDomain::kProcessingTime, ctx().clock->now_ms() + 1000,
                                   "alarm");
    }
  }
  void on_timer(const Timer& t, Output& out) override {
    out.add(EventKind::kDerived, t.key, ctx().clock->now_ms(), intern("rang"));
  }

 private:
  bool armed_ = false;
};

// Emits a few records, then idles until the job stops.

TEST(ExecutorTest, ProcessingTimeTimersFollowTheManualClock) {
  Collected collected;
  ManualClock clock(5000);
  LogicalGraph g;
  g.add(testing::source_node("src", 1, [] { return std::make_unique<BriefSource>(); }));
  g.add(testing::operator_node("alarm", 1, {{"src", Partitioning::kHash}},
                               [] { return std::make_unique<ProcessingTimeAlarm>(); }));
  g.add(testing::operator_node("sink", 1, {{"alarm", Partitioning::kForward}},
                               [&] { return std::make_unique<CollectSink>(collected); }));
  g.validate();
  JobSettings s;
  s.idle_timeout_ms = 1'000'000;
  Executor e(g, s, {&clock, &dead_letters()});
  std::thread driver([&] {
    const auto alarm_in = [&] {
      for (const OperatorStats& st : e.operator_stats())
        if (st.operator_id == "alarm") return st.records_in.load();
      return uint64_t{0};
    };
    while (alarm_in() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    {
      std::lock_guard l(collected.mutex);
      EXPECT_TRUE(collected.lines.empty());  // the manual clock has not moved
    }
    clock.advance(1000);
    for (int i = 0; i < 2000; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::lock_guard l(collected.mutex);
      if (!collected.lines.empty()) break;
    }
    e.stop();
  });
  e.run();
  driver.join();
  EXPECT_EQ(collected.lines, (std::vector<std::string>{"alarm"}));
}

TEST(ExecutorTest, OperatorFailureCancelsTheJobAndNamesTheSubtask) {
  LogicalGraph g;
  g.add(testing::source_node("src", 1, [] { return std::make_unique<CountingSource>(-1, 5); }));
  g.add(testing::operator_node("bad", 2, {{"src", Partitioning::kHash}},
                               [] { return std::make_unique<Throwing>(); }));
  g.validate();
  JobSettings s;
  s.channel_capacity = 2;
  Executor e(g, s, {&SystemClock::instance(), &dead_letters()});
  try {
    e.run();
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& err) {
    EXPECT_NE(std::string(err.what()).find("bad#"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("boom"), std::string::npos);
  }
}

}  // namespace
}  // namespace segflow

#include "tests/support/operator_harness.h"

#include <stdexcept>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace segflow::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Forwards its input, and makes every lifecycle call visible as a derived record:
// an event-time timer at time + 10 and a processing-time timer at now + 100 per record.
class ProbeOperator final : public Operator {
 public:
  static constexpr uint32_t kEventTimer = 1;
  static constexpr uint32_t kProcessingTimer = 2;

  void process(const Batch& in, Output& out) override {
    for (const Record& r : in.records()) {
      ++processed_;
      out.forward(in, r);
      ctx().timers->register_timer(TimeDomain::kEventTime, r.event_time + 10, r.key, kEventTimer);
      ctx().timers->register_timer(TimeDomain::kProcessingTime, ctx().clock->now_ms() + 100, r.key,
                                   kProcessingTimer);
    }
  }
  void on_timer(const Timer& t, Output& out) override {
    const int64_t time = t.tag == kEventTimer ? t.time : ctx().watermark + 1;
    out.add(EventKind::kDerived, t.key, time, intern("timer"))
        .set("tag", Value::integer(t.tag))
        .set("watermark", Value::integer(ctx().watermark))
        .set("now", Value::integer(ctx().clock->now_ms()));
  }
  void on_watermark(int64_t watermark, Output& out) override {
    out.add(EventKind::kDerived, "", watermark, intern("watermark"));
  }
  void snapshot(StateWriter& w) const override { write_state(w, processed_); }
  void restore(StateReader& r) override { processed_ += read_state<int64_t>(r); }
  void close(Output& out) override {
    out.add(EventKind::kDerived, "", kMaxTime, intern("closed"))
        .set("processed", Value::integer(processed_));
  }

  int64_t processed() const { return processed_; }

 private:
  int64_t processed_ = 0;
};

// Forwards its input unchanged.
class EchoOperator final : public Operator {
 public:
  void process(const Batch& in, Output& out) override {
    for (const Record& r : in.records()) out.forward(in, r);
  }
};

TEST(OperatorHarness, BuildsTheContextAndOpens) {
  HarnessOptions options;
  options.operator_id = "probe";
  options.subtask = 1;
  options.parallelism = 4;
  options.max_parallelism = 16;
  options.start_processing_time = 5000;
  OperatorHarness h(std::make_unique<ProbeOperator>(), options);
  const OperatorContext& ctx = h.context();
  EXPECT_EQ(ctx.operator_id, "probe");
  EXPECT_EQ(ctx.subtask, 1u);
  EXPECT_EQ(ctx.parallelism, 4u);
  EXPECT_EQ(ctx.max_parallelism, 16u);
  EXPECT_EQ(ctx.key_groups.begin, 4u);
  EXPECT_EQ(ctx.key_groups.end, 8u);
  EXPECT_EQ(ctx.clock->now_ms(), 5000);
  EXPECT_EQ(ctx.timers, &h.timers());
  EXPECT_EQ(ctx.dead_letters, &h.dead_letters());
  EXPECT_EQ(ctx.watermark, kMinTime);
}

TEST(OperatorHarness, RendersRecordsAsComparableValues) {
  OperatorHarness h(std::make_unique<EchoOperator>());
  h.process({{"u1",
              1000,
              "Order Completed",
              {{"name", "a\"b"}, {"n", 3}, {"x", 2.5}, {"ok", true}, {"none", nullptr}}},
             {"u2", 1001, "Signed Up", {}, EventKind::kIdentify}});
  const std::vector<OutputRecord> out = h.take_output();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].str(),
            R"(track u1 @1000 Order Completed name="a\"b" n=3 x=2.5 ok=true none=null)");
  EXPECT_EQ(
      out[0],
      (OutputRecord{
          EventKind::kTrack,
          "u1",
          1000,
          "Order Completed",
          {{"name", R"("a\"b")"}, {"n", "3"}, {"x", "2.5"}, {"ok", "true"}, {"none", "null"}}}));
  ASSERT_NE(out[0].property("n"), nullptr);
  EXPECT_EQ(*out[0].property("n"), "3");
  EXPECT_EQ(out[0].property("missing"), nullptr);
  EXPECT_EQ(out[1].str(), "identify u2 @1001 Signed Up");
  EXPECT_THAT(h.output(), IsEmpty());
}

TEST(OperatorHarness, WatermarkFiresDueTimersInTimeOrderThenOnWatermark) {
  OperatorHarness h(std::make_unique<ProbeOperator>());
  h.process({{"u1", 100, "a"}, {"u2", 50, "b"}});
  h.clear_output();

  h.watermark(60);  // u2's timer at 60 is due, u1's at 110 is not
  EXPECT_THAT(h.take_output_lines(), ElementsAre("derived u2 @60 timer tag=1 watermark=60 now=0",
                                                 "derived  @60 watermark"));
  EXPECT_EQ(h.current_watermark(), 60);

  h.watermark(60);  // not an advance: nothing happens
  EXPECT_THAT(h.output(), IsEmpty());

  h.process({{"u3", 70, "c"}});  // timer at 80
  h.clear_output();
  h.watermark(500);
  EXPECT_THAT(h.take_output_lines(), ElementsAre("derived u3 @80 timer tag=1 watermark=500 now=0",
                                                 "derived u1 @110 timer tag=1 watermark=500 now=0",
                                                 "derived  @500 watermark"));
  EXPECT_THROW(h.watermark(400), std::invalid_argument);
}

TEST(OperatorHarness, ProcessingTimeTimersFireWhenTheClockReachesThem) {
  HarnessOptions options;
  options.start_processing_time = 1000;
  OperatorHarness h(std::make_unique<ProbeOperator>(), options);
  h.process({{"u1", 5, "a"}});  // processing-time timer at 1100
  h.clear_output();
  h.advance_processing_time(99);
  EXPECT_THAT(h.output(), IsEmpty());
  h.advance_processing_time(1);
  EXPECT_THAT(h.take_output_lines(), ElementsAre("derived u1 @-9223372036854775807 timer tag=2 "
                                                 "watermark=-9223372036854775808 now=1100"));
  h.set_processing_time(5000);
  EXPECT_THAT(h.output(), IsEmpty());
}

TEST(OperatorHarness, EndOfInputFiresEverythingThenCloses) {
  OperatorHarness h(std::make_unique<ProbeOperator>());
  h.process({{"u1", 100, "a"}});
  h.clear_output();
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre("derived u1 @110 timer tag=1 watermark=9223372036854775807 now=0",
                          "derived  @9223372036854775807 watermark",
                          "derived  @9223372036854775807 closed processed=1"));
  EXPECT_THROW(h.process({{"u1", 1, "a"}}), std::logic_error);
  EXPECT_THROW(h.watermark(1), std::logic_error);
  EXPECT_THROW(h.end_of_input(), std::logic_error);
}

TEST(OperatorHarness, RejectsLateOutputUnlessAllowed) {
  OperatorHarness strict(std::make_unique<EchoOperator>());
  strict.watermark(10);
  strict.process({{"u1", 11, "a"}});
  EXPECT_THROW(strict.process({{"u1", 10, "a"}}), std::logic_error);

  HarnessOptions options;
  options.reject_late_output = false;
  OperatorHarness lenient(std::make_unique<EchoOperator>(), options);
  lenient.watermark(10);
  lenient.process({{"u1", 5, "a"}});
  EXPECT_THAT(lenient.take_output_lines(), ElementsAre("track u1 @5 a"));
}

TEST(OperatorHarness, RejectsKeysOfOtherSubtasks) {
  HarnessOptions options;
  options.parallelism = 2;
  options.max_parallelism = 8;
  OperatorHarness h(std::make_unique<EchoOperator>(), options);
  std::string foreign;
  for (int i = 0; foreign.empty(); ++i)
    if (!h.owns_key("user" + std::to_string(i))) foreign = "user" + std::to_string(i);
  EXPECT_THROW(h.process({{foreign, 1, "a"}}), std::invalid_argument);
}

TEST(OperatorHarness, SnapshotRestoresOperatorStateAndTimersIntoANewInstance) {
  OperatorHarness first(std::make_unique<ProbeOperator>());
  first.process({{"u1", 100, "a"}, {"u2", 200, "b"}});
  first.watermark(50);
  const std::string snapshot = first.snapshot();

  OperatorHarness second(std::make_unique<ProbeOperator>());
  second.restore(snapshot);
  EXPECT_EQ(second.op_as<ProbeOperator>().processed(), 2);
  EXPECT_EQ(second.timers().size(), 4u);  // two event-time, two processing-time
  EXPECT_EQ(second.current_watermark(), kMinTime);

  first.clear_output();
  first.watermark(300);
  second.watermark(300);
  EXPECT_EQ(first.take_output(), second.take_output());
  EXPECT_THROW(second.restore(snapshot), std::logic_error);
}

TEST(OperatorHarness, RestoreAtAnotherParallelismKeepsOnlyOwnedTimers) {
  HarnessOptions one;
  one.max_parallelism = 8;
  OperatorHarness whole(std::make_unique<ProbeOperator>(), one);
  std::vector<InputRecord> records;
  for (int i = 0; i < 20; ++i) records.push_back({"user" + std::to_string(i), 100 + i, "a"});
  whole.process(records);
  const std::string snapshot = whole.snapshot();

  size_t restored_timers = 0;
  for (uint32_t subtask = 0; subtask < 2; ++subtask) {
    HarnessOptions half = one;
    half.subtask = subtask;
    half.parallelism = 2;
    OperatorHarness part(std::make_unique<ProbeOperator>(), half);
    part.restore(snapshot);
    restored_timers += part.timers().size();
    Timer t;
    while (part.timers().pop_due(TimeDomain::kEventTime, kMaxTime, t))
      EXPECT_TRUE(part.owns_key(t.key)) << t.key;
  }
  EXPECT_EQ(restored_timers, whole.timers().size());
}

TEST(OperatorHarness, RejectsSnapshotsTheOperatorDoesNotFullyRead) {
  OperatorHarness h(std::make_unique<ProbeOperator>());
  StateWriter op_state;
  write_state<int64_t>(op_state, 1);
  write_state<int64_t>(op_state, 2);  // one value too many
  StateWriter w;
  w.str(op_state.data());
  TimerService().snapshot(w);
  EXPECT_THROW(h.restore(w.data()), StateFormatError);
}

}  // namespace
}  // namespace segflow::testing

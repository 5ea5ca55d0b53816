#include "operators/threshold/rolling_count_threshold.h"

#include <algorithm>
#include <optional>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/registry.h"
#include "tests/support/operator_harness.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using ::segflow::testing::HarnessOptions;
using ::segflow::testing::InputRecord;
using ::segflow::testing::OperatorHarness;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Config = RollingCountThreshold::Config;

constexpr const char* kOrder = "Order Completed";
constexpr const char* kPage = "Page Viewed";

Config parse(const std::string& yaml) {
  return Config::parse(
      ConfigNode(YAML::Load(yaml), std::make_shared<const std::string>("test.yaml"), ""));
}

// More than 2 orders within 10 seconds.
const Config& heavy_buyers() {
  static const Config config =
      parse("events: [Order Completed]\nwindow: 10s\nthreshold: 2\nsegment: heavy");
  return config;
}

std::unique_ptr<Operator> make(const Config& config = heavy_buyers()) {
  return std::make_unique<RollingCountThreshold>(config);
}

std::string change(const char* what, const std::string& key, int64_t time, int64_t count,
                   const std::string& segment) {
  return "derived " + key + " @" + std::to_string(time) + " " + what + " segment=\"" + segment +
         "\" count=" + std::to_string(count);
}
std::string entered(const std::string& key, int64_t time, int64_t count,
                    const std::string& segment = "heavy") {
  return change("entered", key, time, count, segment);
}
std::string exited(const std::string& key, int64_t time, int64_t count,
                   const std::string& segment = "heavy") {
  return change("exited", key, time, count, segment);
}

TEST(RollingCountThreshold, EntersAtTheEventThatExceedsTheThreshold) {
  OperatorHarness h(make());
  h.process({{"u1", 1000, kOrder}, {"u1", 2000, kOrder}, {"u1", 2500, kPage}});
  h.watermark(2999);
  EXPECT_THAT(h.output(), IsEmpty());
  h.process({{"u1", 3000, kOrder}});
  EXPECT_THAT(h.output(), IsEmpty());  // applied when the watermark reaches 3000
  h.watermark(3000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(entered("u1", 3000, 3)));
}

TEST(RollingCountThreshold, ExitsWhenTheOldestEventAgesOutWithoutFurtherEvents) {
  OperatorHarness h(make());
  h.process({{"u1", 1000, kOrder}, {"u1", 2000, kOrder}, {"u1", 3000, kOrder}});
  h.watermark(5000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(entered("u1", 3000, 3)));
  h.watermark(10'999);  // the event at 1000 counts in (999, 10999]
  EXPECT_THAT(h.output(), IsEmpty());
  h.watermark(11'000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(exited("u1", 11'000, 2)));
  h.watermark(20'000);
  EXPECT_THAT(h.output(), IsEmpty());
  EXPECT_EQ(h.op_as<RollingCountThreshold>().tracked_profiles(), 0u);
  EXPECT_EQ(h.timers().size(), 0u);
}

TEST(RollingCountThreshold, AnEventArrivingAsAnotherAgesOutChangesNothing) {
  OperatorHarness h(make());
  h.process({{"u1", 1000, kOrder}, {"u1", 2000, kOrder}, {"u1", 3000, kOrder}});
  h.process({{"u1", 11'000, kOrder}});
  h.watermark(100'000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(entered("u1", 3000, 3), exited("u1", 12'000, 2)));
}

TEST(RollingCountThreshold, EventsAtTheSameInstantCountTogether) {
  OperatorHarness h(make());
  h.process({{"u1", 1000, kOrder}, {"u1", 1000, kOrder}, {"u1", 1000, kOrder}});
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(), ElementsAre(entered("u1", 1000, 3), exited("u1", 11'000, 0)));
}

TEST(RollingCountThreshold, StaysInsideWhileTheCountStaysAbove) {
  const Config config = parse("window: 1s\nthreshold: 1\nsegment: s");
  OperatorHarness h(make(config));
  // count: 1 @1000, 2 @1500 (enter), 2 @2000 (1000 out, 2000 in), 1 @2500 (exit), 0 @3000
  h.process({{"u1", 1500, "a"}, {"u1", 1000, "b"}, {"u1", 2000, "c"}});
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre(entered("u1", 1500, 2, "s"), exited("u1", 2500, 1, "s")));
}

TEST(RollingCountThreshold, ThresholdZeroEntersOnTheFirstEvent) {
  const Config config = parse("events: Order Completed\nwindow: 500ms\nthreshold: 0");
  HarnessOptions options;
  options.operator_id = "first_order";
  OperatorHarness h(make(config), options);
  h.process({{"u1", 100, kOrder}, {"u1", 300, kOrder}});
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(), ElementsAre(entered("u1", 100, 1, "first_order"),
                                                 exited("u1", 800, 0, "first_order")));
}

TEST(RollingCountThreshold, EndOfInputExitsEveryProfileAtItsExactTime) {
  OperatorHarness h(make());
  h.process({{"u1", 1000, kOrder},
             {"u1", 2000, kOrder},
             {"u1", 3000, kOrder},
             {"u2", 5000, kOrder},
             {"u2", 5001, kOrder},
             {"u2", 5002, kOrder}});
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(), ElementsAre(entered("u1", 3000, 3), exited("u1", 11'000, 2),
                                                 entered("u2", 5002, 3), exited("u2", 15'000, 2)));
}

TEST(RollingCountThreshold, InterleavedProfilesAreCountedSeparately) {
  OperatorHarness h(make());
  h.process({{"u1", 1000, kOrder},
             {"u2", 1100, kOrder},
             {"u3", 1200, kOrder},
             {"u1", 2000, kOrder},
             {"u2", 2100, kOrder},
             {"u2", 2200, kOrder},
             {"u1", 2300, kOrder},
             {"u3", 9000, kOrder},
             {"u3", 9500, kOrder}});
  h.watermark(2250);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(entered("u2", 2200, 3)));
  h.watermark(9500);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(entered("u1", 2300, 3), entered("u3", 9500, 3)));
  h.watermark(11'150);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(exited("u1", 11'000, 2), exited("u2", 11'100, 2)));
  h.watermark(20'000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(exited("u3", 11'200, 2)));
}

TEST(RollingCountThreshold, LateEventsAreCountedAndDeadLettered) {
  ::segflow::testing::TempDir dir;
  HarnessOptions options;
  options.operator_id = "heavy_buyers";
  options.dead_letter_path = dir.file("dead.jsonl");
  const Config config = parse("events: Order Completed\nwindow: 10s\nthreshold: 0");
  OperatorHarness h(make(config), options);
  h.watermark(5000);
  h.process({{"u1", 5000, kOrder}, {"u1", 4000, kOrder}, {"u1", 5001, kOrder}, {"u1", 100, kPage}});
  h.watermark(6000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(entered("u1", 5001, 1, "heavy_buyers")));

  auto& op = h.op_as<RollingCountThreshold>();
  EXPECT_EQ(op.late_events(), 2u);
  EXPECT_EQ(h.dead_letters().count("late event"), 2u);
  EXPECT_EQ(h.dead_letters().total(), 2u);
  h.dead_letters().flush();
  const auto lines = ::segflow::testing::read_lines(dir.file("dead.jsonl"));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(lines[0], HasSubstr(R"("origin":"heavy_buyers#0","reason":"late event")"));
  EXPECT_THAT(lines[0], HasSubstr(R"(\"profile\":\"u1\")"));
  EXPECT_THAT(lines[0], HasSubstr(R"(\"event_time\":5000)"));
  EXPECT_THAT(lines[1], HasSubstr(R"(\"event_time\":4000)"));
}

// The operator keeps its own queue of when each profile is due instead of engine timers:
// a profile is advanced at its earliest buffered event, and at its oldest counted event's
// expiry, with no event after it.
TEST(RollingCountThreshold, AdvancesEachProfileAtItsDueTimesWithoutEngineTimers) {
  OperatorHarness h(make());
  std::vector<InputRecord> burst;
  for (int i = 0; i < 100; ++i) burst.push_back({"u1", 1000 + (i * 37) % 500, kOrder});
  h.process(burst);
  h.process({{"u1", 900, kOrder}});
  EXPECT_EQ(h.timers().size(), 0u);
  h.watermark(899);
  EXPECT_THAT(h.take_output_lines(), IsEmpty());
  h.watermark(1000);  // 900 and 1000 applied: 2 events, not above 2
  EXPECT_THAT(h.take_output_lines(), IsEmpty());
  h.watermark(1200);  // the next time of the burst is 1015
  EXPECT_THAT(h.take_output_lines(), ElementsAre(entered("u1", 1015, 3)));
  h.process({{"u2", 3000, kOrder}, {"u2", 3001, kOrder}, {"u2", 3002, kOrder}});
  h.watermark(10'899);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(entered("u2", 3002, 3)));
  EXPECT_EQ(h.op_as<RollingCountThreshold>().tracked_profiles(), 2u);
  // u1's 101 events (900 and 1000 to 1499, distinct) age out one by one from 10,900: 2 are
  // left when the 99th, at 1497, goes at 11,497. u2's first goes at 13,000.
  h.watermark(13'000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(exited("u1", 11'497, 2), exited("u2", 13'000, 2)));
  h.watermark(kMaxTime);
  EXPECT_EQ(h.op_as<RollingCountThreshold>().tracked_profiles(), 0u);
  EXPECT_EQ(h.op_as<RollingCountThreshold>().scheduled_pairs(), 0u);
  EXPECT_EQ(h.timers().size(), 0u);
}

// Each event earlier than a profile's first buffered one leaves a stale pair in the queue:
// they are dropped once they outnumber the live ones.
TEST(RollingCountThreshold, DropsStaleScheduledPairs) {
  OperatorHarness h(make());
  int64_t time = 1'000'000;
  for (int batch = 0; batch < 100; ++batch) {
    std::vector<InputRecord> in;
    for (int i = 0; i < 100; ++i) in.push_back({"u" + std::to_string(i % 3), time--, kOrder});
    h.process(in);
    EXPECT_LE(h.op_as<RollingCountThreshold>().scheduled_pairs(), 1024u + 100u);
  }
  h.end_of_input();
  EXPECT_EQ(h.op_as<RollingCountThreshold>().scheduled_pairs(), 0u);
  EXPECT_EQ(h.op_as<RollingCountThreshold>().tracked_profiles(), 0u);
}

// A seeded random workload, cut into steps: a batch arrives, then a watermark.
struct Step {
  std::vector<InputRecord> batch;
  int64_t watermark = 0;
};

// The events and watermarks come from `data_seed`; with a `shuffle_seed`, each event
// arrives up to 3 steps early, in a random order within its batch.
std::vector<Step> workload(uint32_t data_seed, std::optional<uint32_t> shuffle_seed = {}) {
  std::mt19937 rng(data_seed);
  std::vector<InputRecord> events;
  for (int i = 0; i < 400; ++i) {
    const std::string key = "user-" + std::to_string(rng() % 7);
    const int64_t time = 1 + static_cast<int64_t>(rng() % 80'000);
    events.push_back({key, time, rng() % 4 == 0 ? kPage : kOrder});
  }
  std::vector<int64_t> watermarks;
  for (int64_t w = 1500; w < 90'000; w += 1500 + static_cast<int64_t>(rng() % 1000))
    watermarks.push_back(w);
  std::mt19937 shuffler(shuffle_seed.value_or(0));
  std::vector<Step> steps(watermarks.size());
  for (size_t i = 0; i < steps.size(); ++i) steps[i].watermark = watermarks[i];
  std::sort(events.begin(), events.end(),
            [](const InputRecord& a, const InputRecord& b) { return a.time < b.time; });
  for (const InputRecord& e : events) {
    // The last step whose batch comes before the watermark passes e.time.
    const size_t due = static_cast<size_t>(
        std::lower_bound(watermarks.begin(), watermarks.end(), e.time) - watermarks.begin());
    const size_t step = shuffle_seed ? due - std::min<size_t>(due, shuffler() % 4) : due;
    steps[step].batch.push_back(e);
  }
  if (shuffle_seed)
    for (Step& s : steps) std::shuffle(s.batch.begin(), s.batch.end(), shuffler);
  return steps;
}

void run(OperatorHarness& h, const std::vector<Step>& steps, size_t from, size_t to) {
  for (size_t i = from; i < to; ++i) {
    h.process(steps[i].batch);
    h.watermark(steps[i].watermark);
  }
}

std::vector<std::string> run_all(const std::vector<Step>& steps) {
  OperatorHarness h(make());
  run(h, steps, 0, steps.size());
  h.end_of_input();
  return h.take_output_lines();
}

TEST(RollingCountThreshold, OutOfOrderArrivalGivesTheSameOutputAsInOrder) {
  for (uint32_t data_seed : {1u, 2u}) {
    const std::vector<std::string> in_order = run_all(workload(data_seed));
    ASSERT_GT(in_order.size(), 10u);
    for (uint32_t shuffle_seed : {7u, 8u, 9u}) {
      SCOPED_TRACE(::testing::Message() << data_seed << "/" << shuffle_seed);
      EXPECT_EQ(run_all(workload(data_seed, shuffle_seed)), in_order);
    }
  }
}

TEST(RollingCountThreshold, SnapshotRestoreContinuesExactlyAsAnUninterruptedRun) {
  const std::vector<Step> steps = workload(11, 5);
  const std::vector<std::string> expected = run_all(steps);
  for (size_t cut : {size_t{0}, size_t{3}, steps.size() / 2, steps.size() - 1}) {
    SCOPED_TRACE(cut);
    OperatorHarness before(make());
    run(before, steps, 0, cut);
    std::vector<std::string> output = before.take_output_lines();

    OperatorHarness after(make());
    after.restore(before.snapshot());
    run(after, steps, cut, steps.size());
    after.end_of_input();
    for (std::string& line : after.take_output_lines()) output.push_back(std::move(line));
    EXPECT_EQ(output, expected);
  }
}

TEST(RollingCountThreshold, RestoreAtAnotherParallelismGivesTheSameChanges) {
  const std::vector<Step> steps = workload(12, 6);
  std::vector<std::string> expected = run_all(steps);
  const size_t cut = steps.size() / 3;
  HarnessOptions one;
  one.max_parallelism = 8;
  OperatorHarness before(make(), one);
  run(before, steps, 0, cut);
  std::vector<std::string> output = before.take_output_lines();
  const std::string snapshot = before.snapshot();

  std::vector<std::unique_ptr<OperatorHarness>> parts;
  for (uint32_t subtask = 0; subtask < 3; ++subtask) {
    HarnessOptions options = one;
    options.subtask = subtask;
    options.parallelism = 3;
    parts.push_back(std::make_unique<OperatorHarness>(make(), options));
    parts.back()->restore(snapshot);
  }
  for (size_t i = cut; i < steps.size(); ++i) {
    for (auto& part : parts) {
      std::vector<InputRecord> mine;
      for (const InputRecord& r : steps[i].batch)
        if (part->owns_key(r.key)) mine.push_back(r);
      part->process(mine);
      part->watermark(steps[i].watermark);
    }
  }
  for (auto& part : parts) {
    part->end_of_input();
    for (std::string& line : part->take_output_lines()) output.push_back(std::move(line));
  }
  std::sort(output.begin(), output.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(output, expected);
}

TEST(RollingCountThreshold, EventsBelowTheWatermarkOfASnapshotStayLateAfterRestore) {
  OperatorHarness before(make());
  before.process({{"u1", 1000, kOrder}, {"u1", 2000, kOrder}});
  before.watermark(5000);
  OperatorHarness after(make());
  after.restore(before.snapshot());
  EXPECT_EQ(after.current_watermark(), kMinTime);
  after.process({{"u1", 4000, kOrder}, {"u1", 6000, kOrder}});
  EXPECT_EQ(after.op_as<RollingCountThreshold>().late_events(), 1u);
  after.end_of_input();
  EXPECT_THAT(after.take_output_lines(),
              ElementsAre(entered("u1", 6000, 3), exited("u1", 11'000, 2)));
}

TEST(RollingCountThreshold, RejectsStateOfAnotherFormat) {
  OperatorHarness h(make());
  StateWriter op_state;
  op_state.u64(99);
  StateWriter w;
  w.str(op_state.data());
  TimerService().snapshot(w);
  EXPECT_THROW(h.restore(w.data()), StateFormatError);
}

TEST(RollingCountThreshold, CountsEveryEventWhenNoEventsAreListed) {
  const Config config = parse("window: 1m\nthreshold: 1\nsegment: active");
  OperatorHarness h(make(config));
  h.process({{"u1", 10, "a"}, {"u1", 20, "b", {}, EventKind::kPage}});
  h.watermark(100);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(entered("u1", 20, 2, "active")));
}

TEST(RollingCountThreshold, ParsesItsConfig) {
  const Config c = parse("events: [a, b]\nwindow: 2h\nthreshold: 5\nsegment: x");
  EXPECT_EQ(c.events, (std::vector<SymbolId>{intern("a"), intern("b")}));
  EXPECT_EQ(c.window_ms, 2 * 3'600'000);
  EXPECT_EQ(c.threshold, 5);
  EXPECT_EQ(c.segment, "x");
  const Config d = parse("window: 1500\nthreshold: 0");
  EXPECT_TRUE(d.events.empty());
  EXPECT_EQ(d.window_ms, 1500);
  EXPECT_EQ(d.segment, "");
}

std::string spec_error(const std::string& yaml) {
  return testing::spec_error_of([&] { parse(yaml); });
}

TEST(RollingCountThreshold, ReportsConfigErrorsWithTheirLocation) {
  EXPECT_THAT(spec_error("events: [a]\nthreshold: 3\n"),
              HasSubstr("test.yaml:1:1: missing required field 'window'"));
  EXPECT_THAT(spec_error("window: 10s\nthreshold: -1\n"),
              HasSubstr("test.yaml:2:12: threshold: 'threshold' must be 0 or more, found -1"));
  EXPECT_THAT(spec_error("window: 10s\n"), HasSubstr("missing required field 'threshold'"));
  EXPECT_THAT(spec_error("window: 0s\nthreshold: 1\n"),
              HasSubstr("test.yaml:1:9: window: 'window' must be longer than 0ms"));
  EXPECT_THAT(spec_error("window: soon\nthreshold: 1\n"), HasSubstr("test.yaml:1:9: window:"));
  EXPECT_THAT(spec_error("window: 1s\nthreshold: many\n"),
              HasSubstr("test.yaml:2:12: threshold: expected an integer"));
  EXPECT_THAT(spec_error("events: []\nwindow: 1s\nthreshold: 1\n"),
              HasSubstr("test.yaml:1:9: events: 'events' must name at least one event"));
  EXPECT_THAT(spec_error("window: 1s\nthreshold: 1\nsegment: ''\n"),
              HasSubstr("test.yaml:3:10: segment: 'segment' must not be empty"));
}

TEST(RollingCountThreshold, IsRegisteredAsKeyed) {
  const RegisteredType* type = Registry::global().find("rolling_count_threshold");
  ASSERT_NE(type, nullptr);
  EXPECT_FALSE(type->is_source);
  EXPECT_TRUE(type->keyed);
}

// Identity merge hooks: a profile that is inside exits when it is merged away; its events
// join the survivor's (on another subtask), which enters and later exits as they age out.
TEST(RollingCountThreshold, MergedAwayProfileExitsAndItsEventsMoveToTheSurvivor) {
  HarnessOptions o0, o1;
  o0.parallelism = o1.parallelism = 2;
  o1.subtask = 1;
  OperatorHarness h0(make(), o0);
  OperatorHarness h1(make(), o1);
  std::string merged, survivor;
  for (int i = 0; merged.empty() || survivor.empty(); ++i) {
    const std::string key = "p" + std::to_string(i);
    (h0.owns_key(key) ? merged : survivor) = key;
  }
  h0.process({{merged, 1000, kOrder},
              {merged, 2000, kOrder},
              {merged, 3000, kOrder},
              {merged, 9000, kOrder}});
  h0.watermark(3500);
  h1.process({{survivor, 2500, kOrder}});
  h1.watermark(3500);
  EXPECT_THAT(h0.take_output_lines(),
              ElementsAre("derived " + merged + " @3000 entered segment=\"heavy\" count=3"));

  std::vector<std::string> emitted;
  Output out(
      [&](BatchPtr& b) {
        for (const Record& r : b->records())
          emitted.push_back(std::string(r.key) + " @" + std::to_string(r.event_time) + " " +
                            std::string(symbol_name(r.event)) + " " +
                            std::to_string(b->find(r, intern("count"))->as_int()));
      },
      16);
  StateWriter w;
  h0.op().export_profile(merged, 3200, w, out);
  out.flush();
  EXPECT_THAT(emitted, ElementsAre(merged + " @3501 exited 0"));
  EXPECT_EQ(h0.op_as<RollingCountThreshold>().tracked_profiles(), 0u);
  EXPECT_EQ(h0.timers().size(), 0u);

  emitted.clear();
  const std::string bytes = w.take();
  StateReader r(bytes);
  h1.op().import_profile(survivor, merged, 3200, r, out);
  out.flush();
  EXPECT_TRUE(r.done());
  // 1000, 2000, 2500, 3000 counted; 9000 buffered (applied at 9000: 5 in the window).
  EXPECT_THAT(emitted, ElementsAre(survivor + " @3501 entered 4"));
  h1.end_of_input();
  EXPECT_THAT(h1.take_output_lines(),
              ElementsAre("derived " + survivor + " @12500 exited segment=\"heavy\" count=2"));
}

}  // namespace
}  // namespace segflow

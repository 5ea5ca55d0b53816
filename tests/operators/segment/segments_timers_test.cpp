// The segments operator's timers: a profile's timer is set only where a membership may
// change with no event (through all / any / not), so these check that each such change still
// comes, at its exact time, with no further event; that no timer is pending while ageing
// cannot change anything; and that a profile whose entries have all aged out is erased.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "operators/segment/segments_operator.h"
#include "tests/operators/segment/segments_test_support.h"
#include "tests/support/operator_harness.h"
#include "tests/support/segment_reference.h"

namespace segflow {
namespace {

using ::testing::ElementsAre;
using testing::ev;
using testing::InputRecord;
using testing::OperatorHarness;
using testing::parse;

constexpr int64_t kMin = 60'000;

// Processes `events` at once, applies them (watermark at the last one), then ends the input:
// every change after the last event comes by timer.
std::vector<std::string> run(const SegmentsOperator::Config& config,
                             const std::vector<InputRecord>& events) {
  OperatorHarness h(std::make_unique<SegmentsOperator>(config));
  h.process(events);
  h.watermark(events.back().time);
  h.end_of_input();
  return h.take_output_lines();
}

TEST(SegmentsTimers, AllThatIsFalseWaitsForItsFalseChildToAgeOut) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: browsing_not_buying
    enter:
      all:
        - {window: {events: [V], within: 10m, is: ">= 2"}, name: views}
        - {not: {window: {events: [O], within: 5m, is: ">= 1"}, name: orders}})");
  // At 2m: 2 views, but an order until 6m; enters at 6m, exits when the first view ages out.
  EXPECT_THAT(run(*config, {ev("u1", 0, "V"), ev("u1", 1 * kMin, "O"), ev("u1", 2 * kMin, "V")}),
              ElementsAre("derived u1 @360000 entered profile_id=\"u1\" "
                          "segment=\"browsing_not_buying\" change=\"entered\" rule_version=1 "
                          "views=2 orders=0",
                          "derived u1 @600000 exited profile_id=\"u1\" "
                          "segment=\"browsing_not_buying\" change=\"exited\" rule_version=1 "
                          "views=1 orders=0"));
}

TEST(SegmentsTimers, AnyThatIsTrueExitsWhenItsLastTrueChildAgesOut) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: active
    enter:
      any:
        - {window: {events: [A], within: 10m, is: ">= 2"}, name: a}
        - {window: {events: [B], within: 1h, is: ">= 1"}, name: b})");
  // Both hold from 2m; A falls to 1 at 10m, B holds until 62m.
  EXPECT_THAT(run(*config, {ev("u1", 0, "A"), ev("u1", 1 * kMin, "A"), ev("u1", 2 * kMin, "B")}),
              ElementsAre("derived u1 @60000 entered profile_id=\"u1\" segment=\"active\" "
                          "change=\"entered\" rule_version=1 a=2 b=0",
                          "derived u1 @3720000 exited profile_id=\"u1\" segment=\"active\" "
                          "change=\"exited\" rule_version=1 a=0 b=0"));
}

TEST(SegmentsTimers, AbsenceUnderAllMaturesAndEndsByTimer) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: abandoned_while_browsing
    enter:
      all:
        - {absence: {after: [Product Added], then_no: [Order Completed], within: 15m, for: 10m},
           name: added_at}
        - {window: {events: [Page], within: 1h, is: ">= 1"}, name: pages})");
  // Matures at 16m; the absence ends at 26m, before the page ages out (60m).
  EXPECT_THAT(run(*config, {ev("u1", 0, "Page"), ev("u1", 1 * kMin, "Product Added")}),
              ElementsAre("derived u1 @960000 entered profile_id=\"u1\" "
                          "segment=\"abandoned_while_browsing\" change=\"entered\" "
                          "rule_version=1 added_at=60000 pages=1",
                          "derived u1 @1560000 exited profile_id=\"u1\" "
                          "segment=\"abandoned_while_browsing\" change=\"exited\" "
                          "rule_version=1 added_at=null pages=1"));
}

TEST(SegmentsTimers, CooldownEndEntersAndAgeingExitsWithNoEvent) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: s
    cooldown: 5m
    enter: {window: {events: [A], within: 10m, is: ">= 1"}, name: a})");
  // Out at 10m; A at 11m is too soon (cooling until 15m): enters at 15m, exits at 21m.
  EXPECT_THAT(run(*config, {ev("u1", 0, "A"), ev("u1", 11 * kMin, "A")}),
              ElementsAre("derived u1 @0 entered profile_id=\"u1\" segment=\"s\" "
                          "change=\"entered\" rule_version=1 a=1",
                          "derived u1 @600000 exited profile_id=\"u1\" segment=\"s\" "
                          "change=\"exited\" rule_version=1 a=0",
                          "derived u1 @900000 entered profile_id=\"u1\" segment=\"s\" "
                          "change=\"entered\" rule_version=1 a=1",
                          "derived u1 @1260000 exited profile_id=\"u1\" segment=\"s\" "
                          "change=\"exited\" rule_version=1 a=0"));
}

TEST(SegmentsTimers, NoTimerWhileAgeingCannotChangeAMembership) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: hot
    enter: {window: {events: [V], within: 10m, is: "> 2"}, name: views}
  - name: idle_regular
    enter:
      all:
        - {window: {within: 60d, is: ">= 10"}, name: events_60d}
        - {recency: {since: ">= 30d"}, name: idle_ms}
  - name: pro
    enter: {profile: "traits.plan == 'pro'"})");
  OperatorHarness h(std::make_unique<SegmentsOperator>(*config));
  auto& op = h.op_as<SegmentsOperator>();
  // The profile keeps a property, so it is never erased; 2 views can only fall, 2 events in
  // 60 days too (idle_regular waits for an event): nothing to wake up for.
  h.process({ev("u1", 0, "V", {{"traits.plan", std::string("free")}}), ev("u1", kMin, "V")});
  h.watermark(kMin);
  EXPECT_EQ(h.timers().size(), 0u);
  EXPECT_EQ(op.tracked_profiles(), 1u);
  // A third view: `hot` holds and ends as the first view ages out, at 10m.
  h.process({ev("u1", 2 * kMin, "V")});
  h.watermark(2 * kMin);
  EXPECT_EQ(h.timers().size(), 1u);
  h.watermark(10 * kMin - 1);
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre("derived u1 @120000 entered profile_id=\"u1\" segment=\"hot\" "
                          "change=\"entered\" rule_version=1 views=3"));
  h.watermark(10 * kMin);
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre("derived u1 @600000 exited profile_id=\"u1\" segment=\"hot\" "
                          "change=\"exited\" rule_version=1 views=2"));
  EXPECT_EQ(h.timers().size(), 0u);
}

TEST(SegmentsTimers, ProfileWhoseEntriesAllAgedOutIsErasedByOneTimer) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: hot
    enter: {window: {events: [V], within: 10m, is: ">= 5"}, name: views}
  - name: buyer
    enter: {window: {events: [O], within: 1h, is: ">= 3"}, name: orders})");
  OperatorHarness h(std::make_unique<SegmentsOperator>(*config));
  auto& op = h.op_as<SegmentsOperator>();
  h.process({ev("u1", 0, "V"), ev("u1", kMin, "V"), ev("u1", 2 * kMin, "O")});
  h.watermark(2 * kMin);
  // One timer, when the last entry ages out (the order, at 62m); none per entry.
  EXPECT_EQ(h.timers().size(), 1u);
  EXPECT_EQ(h.timers().next_time(TimeDomain::kEventTime), 62 * kMin);
  h.watermark(62 * kMin - 1);
  EXPECT_EQ(op.tracked_profiles(), 1u);
  h.watermark(62 * kMin);
  EXPECT_EQ(op.tracked_profiles(), 0u);
  EXPECT_EQ(h.timers().size(), 0u);
  EXPECT_TRUE(h.take_output_lines().empty());
}

TEST(SegmentsTimers, DeadlinesAreRebuiltOnRestore) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: s
    enter:
      all:
        - {window: {events: [A], within: 10m, is: ">= 2"}, name: a}
        - {not: {window: {events: [B], within: 5m, is: ">= 1"}, name: b}}
    exit: {window: {events: [A], within: 10m, is: "== 0"}, name: gone})");
  const std::vector<InputRecord> events = {ev("u1", 0, "A"), ev("u1", kMin, "B"),
                                           ev("u1", 2 * kMin, "A")};
  const auto expected = run(*config, events);
  ASSERT_EQ(expected.size(), 2u);  // in at 6m; out at 12m (hysteresis: when both A aged out)
  OperatorHarness first(std::make_unique<SegmentsOperator>(*config));
  first.process(events);
  first.watermark(2 * kMin);
  OperatorHarness second(std::make_unique<SegmentsOperator>(*config));
  second.restore(first.snapshot());
  second.end_of_input();
  EXPECT_EQ(second.take_output_lines(), expected);
}

TEST(SegmentsTimers, FedSegmentIsRescheduledEvenWhenItsOutcomeHeld) {
  // Both sums share one state; `big` is false after each event (-3, then 4), but once the -3
  // ages out (11m) the sum is 7: its segment must be rescheduled at every feed, not only when
  // the outcome flips.
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: big
    enter: {window: {events: [P], fn: sum, of: properties.v, within: 10m, is: "> 5"}, name: s}
  - name: huge
    enter: {window: {events: [P], fn: sum, of: properties.v, within: 10m, is: "> 15"}, name: s})");
  EXPECT_THAT(run(*config, {ev("u1", 1 * kMin, "P", {{"properties.v", int64_t{-3}}}),
                            ev("u1", 2 * kMin, "P", {{"properties.v", int64_t{7}}})}),
              ElementsAre("derived u1 @660000 entered profile_id=\"u1\" segment=\"big\" "
                          "change=\"entered\" rule_version=1 s=7",
                          "derived u1 @720000 exited profile_id=\"u1\" segment=\"big\" "
                          "change=\"exited\" rule_version=1 s=0"));
}

TEST(SegmentsTimers, ProfilesShareOneEngineTimerAndFireInTimeThenKeyOrder) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: hot
    enter: {window: {events: [V], within: 10m, is: ">= 1"}, name: views})");
  OperatorHarness h(std::make_unique<SegmentsOperator>(*config));
  // Exits at 10m for u3 and u1 (same time: by key), at 11m for u2.
  h.process({ev("u3", 0, "V"), ev("u2", kMin, "V"), ev("u1", 0, "V")});
  h.watermark(kMin);
  EXPECT_EQ(h.timers().size(), 1u);  // one for all three profiles
  EXPECT_EQ(h.timers().next_time(TimeDomain::kEventTime), 10 * kMin);
  h.take_output_lines();
  h.watermark(11 * kMin);
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre("derived u1 @600000 exited profile_id=\"u1\" segment=\"hot\" "
                          "change=\"exited\" rule_version=1 views=0",
                          "derived u3 @600000 exited profile_id=\"u3\" segment=\"hot\" "
                          "change=\"exited\" rule_version=1 views=0",
                          "derived u2 @660000 exited profile_id=\"u2\" segment=\"hot\" "
                          "change=\"exited\" rule_version=1 views=0"));
  EXPECT_EQ(h.timers().size(), 0u);
}

TEST(SegmentsTimers, RefusesSnapshotsWithOneEngineTimerPerProfile) {
  const auto config = parse(R"(
segments:
  - name: hot
    enter: {window: {events: [V], within: 10m, is: ">= 1"}, name: views})");
  SegmentsOperator op(*config);
  StateWriter w;
  w.u64(1);  // version 1: one engine timer per profile
  StateReader r(w.data());
  try {
    op.restore(r);
    FAIL() << "a version 1 snapshot was restored";
  } catch (const StateFormatError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("state format version 1"));
  }
}

// More profiles with instants pending than the operator queues at once (it keeps the far ones
// in their state behind a horizon, and scans the state when the watermark reaches it):
// output as the reference evaluator gives it, delivered out of order, with a snapshot and
// restore midway.
TEST(SegmentsTimers, ManyProfilesBehindTheHorizonFireAtTheirExactInstants) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: hot
    enter: {window: {events: [V], within: 10m, is: ">= 2"}, name: views}
  - name: idle
    enter:
      all:
        - {window: {within: 2h, is: ">= 3"}, name: events_2h}
        - {recency: {since: ">= 45m"}, name: idle_ms}
  - name: abandoned
    enter: {absence: {after: [A], then_no: [O], within: 20m, for: 1h}, name: added_at})");
  std::mt19937_64 rng(5);
  auto pick = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::vector<InputRecord> events;
  static const char* kNames[] = {"V", "V", "A", "O", "P"};
  for (int p = 0; p < 10000; ++p) {
    int64_t t = pick(0, 30) * kMin;
    for (int n = pick(1, 6); n > 0; --n) {
      t += pick(0, 3) == 0 ? pick(20, 90) * kMin : pick(0, 300) * 1000;
      events.push_back(ev("p" + std::to_string(p), t, kNames[pick(0, 4)]));
    }
  }
  const auto expected = testing::reference_segment_changes(config->rules, events);
  ASSERT_GT(expected.size(), 10000u);
  // Delivered in arrival order: up to 2 minutes late, the watermark 2 minutes behind.
  constexpr int64_t kBound = 2 * kMin;
  std::vector<std::pair<int64_t, InputRecord>> delivery;
  for (const InputRecord& e : events) delivery.emplace_back(e.time + pick(0, kBound - 1), e);
  std::stable_sort(delivery.begin(), delivery.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  auto h = std::make_unique<OperatorHarness>(std::make_unique<SegmentsOperator>(*config));
  std::vector<std::string> lines;
  size_t delivered = 0;
  for (const auto& [arrival, e] : delivery) {
    h->process({e});
    if (arrival - kBound > h->current_watermark()) h->watermark(arrival - kBound);
    if (++delivered == delivery.size() / 2) {
      for (auto& l : h->take_output_lines()) lines.push_back(l);
      const std::string snapshot = h->snapshot();
      h = std::make_unique<OperatorHarness>(std::make_unique<SegmentsOperator>(*config));
      h->restore(snapshot);
    }
  }
  h->end_of_input();
  for (auto& l : h->take_output_lines()) lines.push_back(l);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, expected);
}

}  // namespace
}  // namespace segflow

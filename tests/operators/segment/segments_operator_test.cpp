#include "operators/segment/segments_operator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>

#include "tests/operators/segment/segments_test_support.h"
#include "tests/support/operator_harness.h"
#include "tests/support/segment_reference.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using ::testing::HasSubstr;

using ::testing::ElementsAre;
using testing::ev;
using testing::InputRecord;
using testing::OperatorHarness;
using testing::parse;

constexpr int64_t kMin = 60'000;

// Runs `events` (in the given order) through the operator, with the watermark `bound`
// behind the highest time seen after each event, then ends the input.
std::vector<std::string> run(const SegmentsOperator::Config& config,
                             const std::vector<InputRecord>& events, int64_t bound = 0) {
  OperatorHarness h(std::make_unique<SegmentsOperator>(config));
  int64_t high = kMinTime;
  for (const InputRecord& e : events) {
    h.process({e});
    high = std::max(high, e.time);
    if (high - bound - 1 > h.current_watermark()) h.watermark(high - bound - 1);
  }
  h.end_of_input();
  return h.take_output_lines();
}

TEST(SegmentsOperator, WindowCountEntersAndExitsByTimer) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: high_intent
    version: 3
    enter: {window: {events: [Product Viewed], within: 10m, is: "> 2"}, name: views})");
  const auto out =
      run(*config, {ev("u1", 1 * kMin, "Product Viewed"), ev("u1", 2 * kMin, "Page"),
                    ev("u1", 3 * kMin, "Product Viewed"), ev("u1", 4 * kMin, "Product Viewed")});
  EXPECT_THAT(out,
              ElementsAre("derived u1 @240000 entered profile_id=\"u1\" segment=\"high_intent\" "
                          "change=\"entered\" rule_version=3 views=3",
                          "derived u1 @660000 exited profile_id=\"u1\" segment=\"high_intent\" "
                          "change=\"exited\" rule_version=3 views=2"));
}

TEST(SegmentsOperator, WindowSumWithWhereAndEmittedAt) {
  const auto config = parse(R"(
segments:
  - name: big_spender
    enter:
      window: {events: [Order Completed], where: "properties.currency == 'USD'",
               fn: sum, of: properties.revenue, within: 30d, is: ">= 100"}
      name: spend)");
  OperatorHarness h(std::make_unique<SegmentsOperator>(*config),
                    {.start_processing_time = 777, .dead_letter_path = ""});
  h.process(
      {ev("u1", 1000, "Order Completed",
          {{"properties.revenue", 60.0}, {"properties.currency", std::string("USD")}}),
       ev("u1", 2000, "Order Completed",
          {{"properties.revenue", 500.0}, {"properties.currency", std::string("EUR")}}),
       ev("u1", 3000, "Order Completed",
          {{"properties.revenue", int64_t{40}}, {"properties.currency", std::string("USD")}})});
  h.watermark(3000);
  EXPECT_THAT(
      h.take_output_lines(),
      ElementsAre(
          "derived u1 @3000 entered profile_id=\"u1\" segment=\"big_spender\" change=\"entered\" "
          "rule_version=1 emitted_at=777 spend=100"));
}

TEST(SegmentsOperator, AbsenceFiresByTimerAndEndsOnPurchase) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: cart_abandoners
    enter: {absence: {after: [Product Added], then_no: [Order Completed], within: 15m},
            name: added_at})");
  // Abandoned at 1m (+15m), then bought at 20m: exits. Added at 30m, bought at 40m: nothing.
  const auto out =
      run(*config, {ev("u1", 1 * kMin, "Product Added"), ev("u1", 5 * kMin, "Product Added"),
                    ev("u1", 20 * kMin, "Order Completed"), ev("u1", 30 * kMin, "Product Added"),
                    ev("u1", 40 * kMin, "Order Completed"), ev("u2", 41 * kMin, "Product Added")});
  EXPECT_THAT(
      out, ElementsAre("derived u1 @960000 entered profile_id=\"u1\" segment=\"cart_abandoners\" "
                       "change=\"entered\" rule_version=1 added_at=60000",
                       "derived u1 @1200000 exited profile_id=\"u1\" segment=\"cart_abandoners\" "
                       "change=\"exited\" rule_version=1 added_at=null",
                       "derived u2 @3360000 entered profile_id=\"u2\" segment=\"cart_abandoners\" "
                       "change=\"entered\" rule_version=1 added_at=2460000"));
}

TEST(SegmentsOperator, AbsenceWithForEndsByTimer) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: browsed_premium
    enter:
      absence: {after: [Product Viewed], after_where: "properties.price >= 500",
                then_no: [Order Completed], within: 1h, for: 1h}
      name: viewed_at)");
  const auto out =
      run(*config, {ev("u1", 0, "Product Viewed", {{"properties.price", 900.0}}),
                    ev("u1", 10 * kMin, "Product Viewed", {{"properties.price", 5.0}}),
                    ev("u1", 30 * kMin, "Product Viewed", {{"properties.price", 600.0}})});
  // Matures at 1h, the first ends at 2h but the second (30m) holds until 2h30.
  EXPECT_THAT(
      out, ElementsAre("derived u1 @3600000 entered profile_id=\"u1\" segment=\"browsed_premium\" "
                       "change=\"entered\" rule_version=1 viewed_at=0",
                       "derived u1 @9000000 exited profile_id=\"u1\" segment=\"browsed_premium\" "
                       "change=\"exited\" rule_version=1 viewed_at=null"));
}

TEST(SegmentsOperator, RecencyChurnRiskByTimer) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: churn_risk
    enter:
      all:
        - {window: {within: 30d, is: ">= 0"}, name: recent}
        - {recency: {since: ">= 2d"}, name: idle_ms})");
  const int64_t day = 86'400'000;
  const auto out =
      run(*config, {ev("u1", 0, "Page"), ev("u1", day, "Page"), ev("u1", 5 * day, "Page")});
  EXPECT_THAT(out,
              ElementsAre("derived u1 @259200000 entered profile_id=\"u1\" segment=\"churn_risk\" "
                          "change=\"entered\" rule_version=1 recent=2 idle_ms=172800000",
                          "derived u1 @432000000 exited profile_id=\"u1\" segment=\"churn_risk\" "
                          "change=\"exited\" rule_version=1 recent=3 idle_ms=0",
                          "derived u1 @604800000 entered profile_id=\"u1\" segment=\"churn_risk\" "
                          "change=\"entered\" rule_version=1 recent=3 idle_ms=172800000"));
}

TEST(SegmentsOperator, ProfileTraitsFromIdentify) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: premium
    enter: {profile: "traits.plan == 'premium' and context.device.type in ['mobile']"})");
  const auto out = run(
      *config,
      {{"u1", 1000, "identify", {{"traits.plan", std::string("premium")}}, EventKind::kIdentify},
       ev("u1", 2000, "Page", {{"context.device.type", std::string("mobile")}}),
       ev("u1", 3000, "Page", {{"context.device.type", std::string("desktop")}}),
       {"u1", 4000, "identify", {{"traits.plan", std::string("free")}}, EventKind::kIdentify},
       ev("u1", 5000, "Page", {{"context.device.type", std::string("mobile")}})});
  EXPECT_THAT(out, ElementsAre("derived u1 @2000 entered profile_id=\"u1\" segment=\"premium\" "
                               "change=\"entered\" rule_version=1 c1=true",
                               "derived u1 @3000 exited profile_id=\"u1\" segment=\"premium\" "
                               "change=\"exited\" rule_version=1 c1=false"));
}

TEST(SegmentsOperator, LocalHourAndWeekdayInTheProfilesTimeZone) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: weekend_evening
    enter: {profile: "local_hour >= 18 and local_weekday >= 6"})");
  // 2024-06-01 was a Saturday. 16:30 UTC is 18:30 in Berlin (CEST), 12:30 in New York.
  const int64_t saturday_1630_utc = 1717259400000;
  const auto out = run(*config, {ev("berlin", saturday_1630_utc, "Page",
                                    {{"context.timezone", std::string("Europe/Berlin")}}),
                                 ev("newyork", saturday_1630_utc, "Page",
                                    {{"context.timezone", std::string("America/New_York")}}),
                                 ev("nowhere", saturday_1630_utc + 2 * 3'600'000, "Page",
                                    {{"context.timezone", std::string("Not/AZone")}}),
                                 ev("newyork", saturday_1630_utc + 6 * 3'600'000, "Page")});
  EXPECT_THAT(
      out,
      ElementsAre(
          "derived berlin @1717259400000 entered profile_id=\"berlin\" segment=\"weekend_evening\" "
          "change=\"entered\" rule_version=1 c1=true",
          "derived nowhere @1717266600000 entered profile_id=\"nowhere\" "
          "segment=\"weekend_evening\" "
          "change=\"entered\" rule_version=1 c1=true",
          "derived newyork @1717281000000 entered profile_id=\"newyork\" "
          "segment=\"weekend_evening\" "
          "change=\"entered\" rule_version=1 c1=true"));
}

TEST(SegmentsOperator, NotOfEmptyHistoryEntersOnFirstEvent) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: never_bought
    enter: {not: {window: {events: [Order Completed], within: 1h, is: ">= 1"}, name: n}}
  - name: buyers
    enter: {window: {events: [Order Completed], within: 1h, is: ">= 1"}})");
  // Any event starts a profile here, as a segment holds for an empty history.
  const auto out = run(*config, {ev("u1", 1000, "Page"), ev("u1", 2000, "Order Completed"),
                                 ev("u2", 2500, "Order Completed")});
  EXPECT_THAT(out, ElementsAre("derived u1 @1000 entered profile_id=\"u1\" "
                               "segment=\"never_bought\" change=\"entered\" rule_version=1 n=0",
                               "derived u1 @2000 exited profile_id=\"u1\" segment=\"never_bought\" "
                               "change=\"exited\" rule_version=1 n=1",
                               "derived u1 @2000 entered profile_id=\"u1\" segment=\"buyers\" "
                               "change=\"entered\" rule_version=1 c1=1",
                               "derived u2 @2500 entered profile_id=\"u2\" segment=\"buyers\" "
                               "change=\"entered\" rule_version=1 c1=1",
                               "derived u1 @3602000 entered profile_id=\"u1\" "
                               "segment=\"never_bought\" change=\"entered\" rule_version=1 "
                               "n=0",
                               "derived u1 @3602000 exited profile_id=\"u1\" segment=\"buyers\" "
                               "change=\"exited\" rule_version=1 c1=0",
                               "derived u2 @3602500 entered profile_id=\"u2\" "
                               "segment=\"never_bought\" change=\"entered\" rule_version=1 "
                               "n=0",
                               "derived u2 @3602500 exited profile_id=\"u2\" segment=\"buyers\" "
                               "change=\"exited\" rule_version=1 c1=0"));
}

TEST(SegmentsOperator, DistinctExitConditionHysteresis) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: hot
    enter: {window: {within: 10m, is: ">= 3"}, name: n}
    exit: {window: {within: 10m, is: "<= 1"}, name: m})");
  const auto out = run(*config, {ev("u1", 0, "A"), ev("u1", kMin, "A"), ev("u1", 2 * kMin, "A")});
  // Enters at 3 events; 2 events left (10m) is not an exit; 1 left (11m) is.
  EXPECT_THAT(out, ElementsAre("derived u1 @120000 entered profile_id=\"u1\" segment=\"hot\" "
                               "change=\"entered\" rule_version=1 n=3 m=3",
                               "derived u1 @660000 exited profile_id=\"u1\" segment=\"hot\" "
                               "change=\"exited\" rule_version=1 n=1 m=1"));
}

TEST(SegmentsOperator, CooldownDelaysReentryToItsEnd) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: s
    cooldown: 10m
    enter: {window: {events: [A], within: 1m, is: "> 0"}})");
  // In at 0, out at 1m; A again at 5m (cooling until 11m): enters at 11m only if A is
  // still in its window then; A at 10m30s is, so it enters at 11m.
  const auto out =
      run(*config, {ev("u1", 0, "A"), ev("u1", 5 * kMin, "A"), ev("u1", 10 * kMin + 30'000, "A")});
  EXPECT_THAT(out, ElementsAre("derived u1 @0 entered profile_id=\"u1\" segment=\"s\" "
                               "change=\"entered\" rule_version=1 c1=1",
                               "derived u1 @60000 exited profile_id=\"u1\" segment=\"s\" "
                               "change=\"exited\" rule_version=1 c1=0",
                               "derived u1 @660000 entered profile_id=\"u1\" segment=\"s\" "
                               "change=\"entered\" rule_version=1 c1=1",
                               "derived u1 @690000 exited profile_id=\"u1\" segment=\"s\" "
                               "change=\"exited\" rule_version=1 c1=0"));
}

TEST(SegmentsOperator, OutOfOrderInputGivesTheSameOutput) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: s
    enter:
      any:
        - window: {events: [A], within: 5m, is: "> 2"}
        - absence: {after: [B], then_no: [C], within: 3m})");
  std::vector<InputRecord> in_order = {ev("u1", 0, "A"),       ev("u1", 30'000, "B"),
                                       ev("u1", 60'000, "A"),  ev("u1", 90'000, "A"),
                                       ev("u1", 200'000, "C"), ev("u1", 400'000, "A")};
  std::vector<InputRecord> shuffled = {in_order[1], in_order[0], in_order[3],
                                       in_order[2], in_order[5], in_order[4]};
  const auto expected = run(*config, in_order);
  EXPECT_EQ(run(*config, shuffled, 4 * kMin), expected);
  EXPECT_FALSE(expected.empty());
}

TEST(SegmentsOperator, LateEventsAreDeadLettered) {
  const auto config = parse(R"(
segments:
  - name: s
    enter: {window: {events: [A], within: 5m, is: "> 0"}})");
  OperatorHarness h(std::make_unique<SegmentsOperator>(*config));
  h.watermark(10'000);
  h.process({ev("u1", 10'000, "A"), ev("u1", 5'000, "Other")});
  EXPECT_EQ(h.op_as<SegmentsOperator>().late_events(), 1u);
  EXPECT_EQ(h.dead_letters().count("late event"), 1u);
}

TEST(SegmentsOperator, SnapshotRestoreContinuesExactly) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: s
    enter: {window: {events: [A], within: 5m, is: "> 1"}}
  - name: t
    enter: {absence: {after: [A], then_no: [B], within: 1m}})");
  const std::vector<InputRecord> events = {ev("u1", 0, "A"), ev("u1", 1000, "A"),
                                           ev("u2", 2000, "A"), ev("u1", 200'000, "B")};
  const auto expected = run(*config, events);
  OperatorHarness first(std::make_unique<SegmentsOperator>(*config));
  first.process({events[0], events[1], events[2]});
  first.watermark(1500);
  auto lines = first.take_output_lines();
  OperatorHarness second(std::make_unique<SegmentsOperator>(*config));
  second.restore(first.snapshot());
  second.process({events[3]});
  second.end_of_input();
  for (auto& l : second.take_output_lines()) lines.push_back(l);
  EXPECT_EQ(lines, expected);
  EXPECT_EQ(second.op_as<SegmentsOperator>().membership("u1"), std::vector<std::string>{});
}

// Two segments whose windows keep the same state (only `is` differs), and the same rules
// with the second window's state made distinct by a `where` every event passes.
constexpr const char* kSharedWindows = R"(
emitted_at: false
segments:
  - name: s
    enter: {window: {events: [A], within: 5m, is: "> 1"}}
  - name: t
    enter: {window: {events: [A], within: 5m, is: "> 2"}}
    exit: {window: {events: [A], within: 5m, is: "== 0"}})";
constexpr const char* kSeparateWindows = R"(
emitted_at: false
segments:
  - name: s
    enter: {window: {events: [A], within: 5m, is: "> 1"}}
  - name: t
    enter: {window: {events: [A], where: "properties.v >= 0", within: 5m, is: "> 2"}}
    exit: {window: {events: [A], within: 5m, is: "== 0"}})";

std::vector<InputRecord> shared_window_events() {
  std::vector<InputRecord> events;
  for (const int64_t t : {0, 20'000, 40'000, 60'000, 400'000, 410'000, 420'000, 430'000})
    events.push_back(ev("u1", t, "A", {{"properties.v", int64_t{1}}}));
  events.push_back(ev("u2", 30'000, "A", {{"properties.v", int64_t{1}}}));
  return events;
}

TEST(SegmentsOperator, SharedLeafStateGivesTheChangesOfSeparateStates) {
  const auto shared = parse(kSharedWindows);
  const auto separate = parse(kSeparateWindows);
  ASSERT_EQ(shared->rules.leaves[1].state, 0u);
  ASSERT_EQ(shared->rules.leaves[2].state, 0u);
  ASSERT_EQ(separate->rules.leaves[1].state, 1u);
  const auto expected = run(*separate, shared_window_events());
  ASSERT_EQ(expected.size(), 8u);  // s and t each enter and exit (by timer) twice
  EXPECT_EQ(run(*shared, shared_window_events()), expected);
}

TEST(SegmentsOperator, RestoresASnapshotHoldingACopyOfASharedState) {
  // A snapshot of the separate rules holds two copies of the state the shared rules share
  // (as snapshots did before leaves shared state), in window entries and buffered feeds.
  const auto shared = parse(kSharedWindows);
  const auto separate = parse(kSeparateWindows);
  const std::vector<InputRecord> events = shared_window_events();
  const auto expected = run(*shared, events);
  OperatorHarness first(std::make_unique<SegmentsOperator>(*separate));
  first.process({events[0], events[1], events[2], events[8]});
  first.watermark(25'000);  // 40'000 and 30'000 stay buffered
  auto lines = first.take_output_lines();
  ASSERT_NE(first.op_as<SegmentsOperator>().profile("u1")->leaves.find(1), nullptr);
  OperatorHarness second(std::make_unique<SegmentsOperator>(*shared));
  second.restore(first.snapshot());
  const ProfileState* restored = second.op_as<SegmentsOperator>().profile("u1");
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(restored->leaves.size(), 1u);
  ASSERT_EQ(restored->buffered.size(), 1u);
  EXPECT_EQ(restored->buffered[0].feeds.size(), 1u);
  second.process({events[3], events[4], events[5], events[6], events[7]});
  second.end_of_input();
  for (auto& l : second.take_output_lines()) lines.push_back(l);
  EXPECT_EQ(lines, expected);
}

// Windows over the same events that differ in length (and function and test) keep one entry
// list, for the longest; the same rules with each state made distinct by a `where` every event
// passes (texts differ) keep one list each.
constexpr const char* kWindowsSharedAcrossLengths = R"(
emitted_at: false
segments:
  - name: s
    enter: {window: {events: [A], within: 1m, is: "> 1"}}
  - name: t
    enter: {window: {events: [A], within: 3m, is: "> 3"}}
    exit: {window: {events: [A], within: 2m, is: "< 2"}}
  - name: u
    enter: {window: {events: [A], fn: sum, of: properties.v, within: 90s, is: ">= 4"}}
  - name: v
    enter: {window: {events: [A], fn: min, of: properties.v, within: 150s, is: "> 1"}})";
constexpr const char* kWindowsSeparateAcrossLengths = R"(
emitted_at: false
segments:
  - name: s
    enter: {window: {events: [A], within: 1m, is: "> 1"}}
  - name: t
    enter: {window: {events: [A], where: "properties.v >= 0", within: 3m, is: "> 3"}}
    exit: {window: {events: [A], where: "properties.v >= -1", within: 2m, is: "< 2"}}
  - name: u
    enter: {window: {events: [A], fn: sum, of: properties.v, within: 90s, is: ">= 4"}}
  - name: v
    enter: {window: {events: [A], fn: min, of: properties.v, where: "properties.v >= -2",
                     within: 150s, is: "> 1"}})";

std::vector<InputRecord> windows_of_lengths_events() {
  std::vector<InputRecord> events;
  int64_t v = 1;
  for (const int64_t t :
       {0, 20'000, 40'000, 60'000, 100'000, 130'000, 500'000, 510'000, 520'000, 530'000, 700'000})
    events.push_back(ev("u1", t, "A", {{"properties.v", v++ % 3 + 1}}));
  events.push_back(ev("u2", 30'000, "A", {{"properties.v", int64_t{2}}}));
  events.push_back(ev("u2", 50'000, "A", {{"properties.v", int64_t{3}}}));
  std::stable_sort(events.begin(), events.end(),
                   [](const InputRecord& a, const InputRecord& b) { return a.time < b.time; });
  return events;
}

TEST(SegmentsOperator, WindowsOfDifferentLengthsShareTheLongestEntryList) {
  const auto shared = parse(kWindowsSharedAcrossLengths);
  const auto separate = parse(kWindowsSeparateAcrossLengths);
  ASSERT_EQ(shared->rules.leaves[1].state, 0u);
  ASSERT_EQ(shared->rules.leaves[2].state, 0u);
  ASSERT_EQ(shared->rules.leaves[3].state, 3u);  // sum and min keep numbers: another list
  ASSERT_EQ(shared->rules.leaves[4].state, 3u);
  EXPECT_EQ(shared->rules.leaves[0].keep_ms, 180'000);
  EXPECT_EQ(shared->rules.leaves[3].keep_ms, 150'000);
  ASSERT_EQ(separate->rules.leaves[1].state, 1u);
  const auto expected = run(*separate, windows_of_lengths_events());
  ASSERT_GE(expected.size(), 10u);
  EXPECT_EQ(run(*shared, windows_of_lengths_events()), expected);
}

TEST(SegmentsOperator, RestoresSeparateListsOfDifferentLengthsIntoTheLongest) {
  // A snapshot of the separate rules holds a list per window length (as snapshots did
  // before such windows shared one): the 1m window's has lost entries the 3m one still
  // counts, so the shared state must be the longest list.
  const auto shared = parse(kWindowsSharedAcrossLengths);
  const auto separate = parse(kWindowsSeparateAcrossLengths);
  const std::vector<InputRecord> events = windows_of_lengths_events();
  const auto expected = run(*shared, events);
  const auto later = std::find_if(events.begin(), events.end(),
                                  [](const InputRecord& e) { return e.time > 100'000; });
  OperatorHarness first(std::make_unique<SegmentsOperator>(*separate));
  first.process(std::vector<InputRecord>(events.begin(), later));
  first.watermark(110'000);
  auto lines = first.take_output_lines();
  const ProfileState* before = first.op_as<SegmentsOperator>().profile("u1");
  ASSERT_NE(before, nullptr);
  ASSERT_NE(before->leaves.find(1), nullptr);
  ASSERT_LT(before->leaves.find(0)->entries.size(), before->leaves.find(1)->entries.size());
  OperatorHarness second(std::make_unique<SegmentsOperator>(*shared));
  second.restore(first.snapshot());
  const ProfileState* restored = second.op_as<SegmentsOperator>().profile("u1");
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(restored->leaves.find(1), nullptr);
  ASSERT_NE(restored->leaves.find(0), nullptr);
  EXPECT_EQ(restored->leaves.find(0)->entries.size(), 5u);
  second.process(std::vector<InputRecord>(later, events.end()));
  second.end_of_input();
  for (auto& l : second.take_output_lines()) lines.push_back(l);
  EXPECT_EQ(lines, expected);
}

TEST(SegmentsOperator, CountsAndMembership) {
  const auto config = parse(R"(
segments:
  - name: s
    enter: {window: {events: [A], within: 5m, is: "> 0"}})");
  OperatorHarness h(std::make_unique<SegmentsOperator>(*config));
  h.process({ev("u1", 1000, "A"), ev("u2", 1000, "A")});
  h.watermark(2000);
  auto& op = h.op_as<SegmentsOperator>();
  EXPECT_EQ(op.counts()[0].entered, 2u);
  EXPECT_EQ(op.counts()[0].members, 2);
  EXPECT_EQ(op.membership("u1"), std::vector<std::string>{"s"});
  h.watermark(301'000);
  EXPECT_EQ(op.counts()[0].exited, 2u);
  EXPECT_EQ(op.counts()[0].members, 0);
  EXPECT_EQ(op.tracked_profiles(), 0u);
}

TEST(SegmentsOperator, MergeProfileReevaluatesAfterTheWatermark) {
  const auto config = parse(R"(
emitted_at: false
segments:
  - name: s
    enter: {window: {events: [A], within: 5m, is: "> 2"}})");
  OperatorHarness h(std::make_unique<SegmentsOperator>(*config));
  h.process({ev("u1", 1000, "A"), ev("u1", 2000, "A"), ev("anon", 1500, "A")});
  h.watermark(3000);
  EXPECT_TRUE(h.take_output_lines().empty());
  auto& op = h.op_as<SegmentsOperator>();
  const ProfileState anon = *op.profile("anon");
  Output out([&](BatchPtr&) {}, 64);
  op.merge_profile("u1", anon, out);
  h.watermark(4000);
  EXPECT_THAT(
      h.take_output_lines(),
      ElementsAre("derived u1 @3001 entered profile_id=\"u1\" segment=\"s\" change=\"entered\" "
                  "rule_version=1 c1=3"));
}

// Profile state keeps leaf ids in 16 bits: the 65,536th condition (over all segments) is a
// load error at its place, and 65,535 still load.
TEST(SegmentsOperator, LeafConditionsBeyondTheLimitFailAtLoad) {
  constexpr uint32_t kPerSegment = 16;
  auto spec_with_leaves = [](uint32_t leaves) {
    std::string yaml = "segments:\n";
    for (uint32_t i = 0; i < leaves; ++i) {
      if (i % kPerSegment == 0)
        yaml += "  - name: s" + std::to_string(i) + "\n    enter:\n      any:\n";
      yaml += "        - {window: {events: [E" + std::to_string(i) + "], within: 1m, is: '> 1'}}\n";
    }
    return yaml;
  };
  EXPECT_NO_THROW(parse(spec_with_leaves(SegmentRules::kMaxLeaves)));
  // Line of the last condition: 3 header lines per segment plus one per condition.
  const uint32_t last_line =
      1 + 3 * (SegmentRules::kMaxLeaves / kPerSegment + 1) + SegmentRules::kMaxLeaves + 1;
  EXPECT_THAT(
      testing::spec_error_of([&] { parse(spec_with_leaves(SegmentRules::kMaxLeaves + 1)); }),
      ::testing::AllOf(::testing::HasSubstr("job.yaml:" + std::to_string(last_line) + ":"),
                       ::testing::HasSubstr("more than 65535 leaf conditions")));
}

TEST(SegmentsOperator, ConfigErrorsNameTheirPlace) {
  auto error = [](const std::string& yaml) { return testing::spec_error_of([&] { parse(yaml); }); };
  EXPECT_THAT(error("segments:\n  - name: s\n    enter: {window: {within: 0m, is: '> 1'}}"),
              ::testing::HasSubstr("job.yaml:3:"));
  EXPECT_THAT(error("segments:\n  - name: s\n    enter: {window: {within: 1m, is: '~ 1'}}"),
              ::testing::HasSubstr("must start with"));
  EXPECT_THAT(error("segments:\n  - name: s\n    enter: {profile: 'a ==', any: []}"),
              ::testing::HasSubstr("exactly one of"));
  EXPECT_THAT(error("segments:\n  - name: s\n    enter: {profile: 'a == '}"),
              ::testing::HasSubstr("column 6"));
  EXPECT_THAT(error("segments:\n  - name: s\n    enter: {recency: {since: '> soon'}}"),
              ::testing::HasSubstr("not a duration"));
  EXPECT_THAT(error("segments:\n  - name: s\n    enter: {window: {within: 1m, is: '> 1', "
                    "wehre: x}}"),
              ::testing::HasSubstr("wehre"));
  EXPECT_THAT(error("segments:\n  - {name: s, enter: {profile: 'a'}}\n  - {name: s, enter: "
                    "{profile: 'a'}}"),
              ::testing::HasSubstr("twice"));
  EXPECT_THAT(error("segments:\n  - name: s\n    enter: {rfm: 'r >= 4'}"),
              ::testing::HasSubstr("needs the operator's 'rfm:' settings"));
  const std::string rfm =
      "rfm: {events: [O], value: properties.v, within: 30d, recency: [1d, 7d, 14d, 28d], "
      "frequency: [2, 3, 4, 5], monetary: [1, 2, 3, 4]}\n";
  EXPECT_THAT(error(rfm + "segments:\n  - name: s\n    enter: {rfm: 'x >= 4'}"),
              ::testing::HasSubstr("'rfm' must read r, f or m"));
  EXPECT_THAT(error(rfm + "segments:\n  - name: s\n    enter: {rfm: 'r => 4'}"),
              ::testing::HasSubstr("job.yaml:4:18: op.segments[0].enter.rfm: 'rfm' must start"));
  std::string unordered = rfm;
  unordered.replace(unordered.find("[2, 3, 4, 5]"), 12, "[2, 3, 3, 5]");
  EXPECT_THAT(error(unordered + "segments:\n  - name: s\n    enter: {rfm: 'f >= 4'}"),
              ::testing::HasSubstr("'frequency' thresholds must be ascending"));
  std::string three = rfm;
  three.replace(three.find("[1, 2, 3, 4]"), 12, "[1, 2, 3]");
  EXPECT_THAT(error(three + "segments:\n  - name: s\n    enter: {rfm: 'm >= 4'}"),
              ::testing::HasSubstr("'monetary' needs 4 thresholds"));
}

// RFM scores: recency from the last purchase, frequency and monetary over `within`; the
// profile exits by timer when its recency score falls below 4 (7 days after the purchase).
TEST(SegmentsOperator, RfmScoresEnterAndExitByTimer) {
  const auto config = parse(R"(
emitted_at: false
rfm:
  events: [Order Completed]
  value: properties.revenue
  within: 30d
  recency: [1d, 7d, 14d, 28d]
  frequency: [2, 3, 4, 5]
  monetary: [50, 100, 200, 400]
segments:
  - name: loyal
    enter:
      all:
        - {rfm: "r >= 4", name: r}
        - {rfm: "rfm.f >= 2", name: f}
        - {rfm: "m >= 3", name: m})");
  const int64_t day = 86'400'000;
  const auto out =
      run(*config,
          {ev("u1", 0, "Order Completed", {{"properties.revenue", 60.0}}), ev("u1", day, "Page"),
           ev("u1", 2 * day, "Order Completed", {{"properties.revenue", 50.0}}),
           ev("u2", 0, "Order Completed", {{"properties.revenue", 500.0}})});
  EXPECT_THAT(out, ElementsAre("derived u1 @172800000 entered profile_id=\"u1\" segment=\"loyal\" "
                               "change=\"entered\" rule_version=1 r=5 f=2 m=3",
                               "derived u1 @777600000 exited profile_id=\"u1\" segment=\"loyal\" "
                               "change=\"exited\" rule_version=1 r=3 f=2 m=3"));
}

}  // namespace
}  // namespace segflow

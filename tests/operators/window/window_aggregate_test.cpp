#include "operators/window/window_aggregate.h"

#include <algorithm>
#include <map>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/spec_error.h"
#include "tests/operators/window/window_test_support.h"
#include "tests/support/operator_harness.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using ::segflow::testing::InputRecord;
using ::segflow::testing::OperatorHarness;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::UnorderedElementsAre;

WindowConfig parse(const std::string& yaml) { return testing::parse_window(yaml); }
using testing::kAllAggregates;

InputRecord buy(const std::string& key, int64_t t, int64_t v) {
  return {key, t, "buy", {{"v", v}}};
}

std::string line(const std::string& key, int64_t time, int64_t start, int64_t end,
                 const std::string& rest) {
  return "derived " + key + " @" + std::to_string(time) +
         " w window_start=" + std::to_string(start) + " window_end=" + std::to_string(end) + " " +
         rest;
}

TEST(WindowAggregate, TumblingFiresOnceWhenTheWatermarkPassesTheEnd) {
  const WindowConfig c = parse(std::string("window: {kind: tumbling, size: 10s}") + kAllAggregates);
  OperatorHarness h(std::make_unique<WindowAggregate>(c));
  h.process({buy("u1", 1000, 5),
             buy("u1", 3000, 2),
             {"u1", 4000, "view"},
             buy("u1", 2000, 9),
             buy("u2", 9999, 1),
             buy("u1", 10'000, 7)});
  h.watermark(9998);
  EXPECT_THAT(h.output(), IsEmpty());
  h.watermark(9999);  // profiles due together fire in no particular order among themselves
  EXPECT_THAT(h.take_output_lines(),
              UnorderedElementsAre(
                  line("u1", 9999, 0, 10'000,
                       "n=3 total=16 lo=2 hi=9 mean=5.333333333333333 first=5 last=2"),
                  line("u2", 9999, 0, 10'000, "n=1 total=1 lo=1 hi=1 mean=1 first=1 last=1")));
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre(line("u1", 19'999, 10'000, 20'000,
                               "n=1 total=7 lo=7 hi=7 mean=7 first=7 last=7")));
  EXPECT_EQ(h.op_as<WindowAggregate>().tracked_profiles(), 0u);
}

TEST(WindowAggregate, MissingAndStringValuesAreIgnoredLikeSqlNull) {
  const WindowConfig c = parse(std::string("window: {kind: tumbling, size: 10s}") + kAllAggregates);
  OperatorHarness h(std::make_unique<WindowAggregate>(c));
  h.process({{"u1", 1000, "buy"}, {"u1", 2000, "buy", {{"v", std::string("x")}}}});
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre(line("u1", 9999, 0, 10'000,
                               "n=2 total=null lo=null hi=null mean=null first=\"x\" last=\"x\"")));
}

TEST(WindowAggregate, SlidingWindowsCombinePanes) {
  const WindowConfig c = parse(
      "window: {kind: sliding, size: 10s, slide: 4s}\nname: w\n"
      "aggregates: [{name: n, fn: count}, {name: s, fn: sum, property: v}]");
  EXPECT_EQ(c.pane_ms, 2000);
  OperatorHarness h(std::make_unique<WindowAggregate>(c));
  h.process({buy("u1", 1000, 1), buy("u1", 5000, 10)});
  h.end_of_input();
  // Windows [k*4s, k*4s+10s) holding 1000 or 5000: starts -8s, -4s, 0, 4s.
  EXPECT_THAT(h.take_output_lines(), ElementsAre(line("u1", 1999, -8000, 2000, "n=1 s=1"),
                                                 line("u1", 5999, -4000, 6000, "n=2 s=11"),
                                                 line("u1", 9999, 0, 10'000, "n=2 s=11"),
                                                 line("u1", 13'999, 4000, 14'000, "n=1 s=10")));
}

TEST(WindowAggregate, SessionsMergeWhenEventsAreAtMostTheGapApart) {
  const WindowConfig c =
      parse("window: {kind: session, gap: 5s}\nname: w\naggregates: [{name: n, fn: count}]");
  OperatorHarness h(std::make_unique<WindowAggregate>(c));
  h.process({buy("u1", 10'000, 0), buy("u1", 20'000, 0)});
  h.process({buy("u1", 15'000, 0)});  // touches both: one session [10s, 25s)
  h.process({buy("u1", 30'001, 0)});  // 5001 ms after the last: a new session
  h.watermark(24'999);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(line("u1", 24'999, 10'000, 25'000, "n=3")));
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(), ElementsAre(line("u1", 35'000, 30'001, 35'001, "n=1")));
}

TEST(WindowAggregate, LateEventsGoToDeadLettersAndAreCounted) {
  const WindowConfig c =
      parse("window: {kind: tumbling, size: 10s}\nname: w\naggregates: [{name: n, fn: count}]");
  OperatorHarness h(std::make_unique<WindowAggregate>(c));
  h.process({buy("u1", 1000, 0)});
  h.watermark(12'000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(line("u1", 9999, 0, 10'000, "n=1")));
  // 11000 is behind the watermark but its window [10s, 20s) has not fired: not late (Flink).
  h.process({buy("u1", 9999, 0), buy("u1", 11'000, 0)});
  EXPECT_EQ(h.op_as<WindowAggregate>().late_events(), 1u);
  EXPECT_EQ(h.dead_letters().count(std::string(WindowAggregate::kLateReason)), 1u);
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(), ElementsAre(line("u1", 19'999, 10'000, 20'000, "n=1")));
}

TEST(WindowAggregate, AllowedLatenessUpdatesAndRefiresTheWindow) {
  const WindowConfig c = parse(
      "window: {kind: tumbling, size: 10s}\nallowed_lateness: 5s\nname: w\n"
      "aggregates: [{name: n, fn: count}]");
  OperatorHarness h(std::make_unique<WindowAggregate>(c));
  h.process({buy("u1", 1000, 0)});
  h.watermark(12'000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(line("u1", 9999, 0, 10'000, "n=1")));
  h.process({buy("u1", 2000, 0)});  // within lateness: fires again at watermark + 1
  EXPECT_THAT(h.take_output_lines(), ElementsAre(line("u1", 12'001, 0, 10'000, "n=2")));
  h.watermark(14'999);  // 9999 + 5000 <= 14999: the window is gone
  h.process({buy("u1", 3000, 0)});
  EXPECT_THAT(h.output(), IsEmpty());
  EXPECT_EQ(h.op_as<WindowAggregate>().late_events(), 1u);
  EXPECT_EQ(h.op_as<WindowAggregate>().late_firings(), 1u);
  EXPECT_EQ(h.op_as<WindowAggregate>().tracked_profiles(), 0u);
}

TEST(WindowAggregate, SessionLatenessRefiresTheMergedSession) {
  const WindowConfig c = parse(
      "window: {kind: session, gap: 5s}\nallowed_lateness: 10s\nname: w\n"
      "aggregates: [{name: n, fn: count}]");
  OperatorHarness h(std::make_unique<WindowAggregate>(c));
  h.process({buy("u1", 1000, 0)});
  h.watermark(7000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(line("u1", 5999, 1000, 6000, "n=1")));
  h.process({buy("u1", 2000, 0)});
  EXPECT_THAT(h.take_output_lines(), ElementsAre(line("u1", 7001, 1000, 7000, "n=2")));
  h.process({buy("u1", 4000, 0)});  // extends the session to 9000: fires when it passes
  EXPECT_THAT(h.output(), IsEmpty());
  h.watermark(9000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre(line("u1", 8999, 1000, 9000, "n=3")));
}

// Reference: every window of every event, from all events at once.
std::vector<std::string> brute_force(const WindowConfig& c, const std::vector<InputRecord>& in) {
  std::map<std::pair<std::string, std::pair<int64_t, int64_t>>, std::vector<int64_t>> windows;
  std::map<std::string, std::vector<int64_t>> by_key;
  for (const InputRecord& r : in) by_key[r.key].push_back(r.time);
  for (auto& [key, times] : by_key) {
    std::sort(times.begin(), times.end());
    if (c.kind == WindowKind::kSession) {
      int64_t start = times[0], last = times[0];
      std::vector<int64_t> members;
      for (int64_t t : times) {
        if (t - last > c.gap_ms) {
          windows[{key, {start, last + c.gap_ms}}] = members;
          members.clear();
          start = t;
        }
        members.push_back(t);
        last = t;
      }
      windows[{key, {start, last + c.gap_ms}}] = members;
    } else {
      for (int64_t t : times)
        for (int64_t s = floor_to(t, c.slide_ms); s > t - c.size_ms; s -= c.slide_ms)
          windows[{key, {s, s + c.size_ms}}].push_back(t);
    }
  }
  std::vector<std::string> lines;
  for (const auto& [w, times] : windows) {
    int64_t sum = 0;
    for (int64_t t : times) sum += t % 7;
    lines.push_back(line(w.first, w.second.second - 1, w.second.first, w.second.second,
                         "n=" + std::to_string(times.size()) + " s=" + std::to_string(sum)));
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

void random_matches_brute_force(const std::string& window, bool snapshot_midway) {
  SCOPED_TRACE(window);
  const WindowConfig c = parse("window: " + window +
                               "\nname: w\naggregates: [{name: n, fn: count}, "
                               "{name: s, fn: sum, property: v}]");
  std::mt19937_64 rng(42);
  std::vector<InputRecord> events;
  constexpr int64_t kBound = 3000;
  for (int i = 0; i < 3000; ++i) {
    const int64_t t = i * 97 + static_cast<int64_t>(rng() % kBound);  // out of order
    events.push_back(buy("u" + std::to_string(rng() % 7), t, t % 7));
  }
  auto h = std::make_unique<OperatorHarness>(std::make_unique<WindowAggregate>(c));
  std::vector<std::string> actual;
  int64_t max_time = kMinTime;
  for (size_t i = 0; i < events.size(); i += 10) {
    std::vector<InputRecord> batch(events.begin() + static_cast<std::ptrdiff_t>(i),
                                   events.begin() + static_cast<std::ptrdiff_t>(i + 10));
    for (const auto& r : batch) max_time = std::max(max_time, r.time);
    h->process(batch);
    h->watermark(max_time - kBound - 1);
    if (snapshot_midway && i == 1500) {
      const std::string snap = h->snapshot();
      for (auto& l : h->take_output_lines()) actual.push_back(l);
      h = std::make_unique<OperatorHarness>(std::make_unique<WindowAggregate>(c));
      h->restore(snap);
      h->watermark(max_time - kBound - 1);
    }
  }
  h->end_of_input();
  EXPECT_EQ(h->op_as<WindowAggregate>().late_events(), 0u);
  for (auto& l : h->take_output_lines()) actual.push_back(l);
  std::sort(actual.begin(), actual.end());
  EXPECT_EQ(actual, brute_force(c, events));
}

TEST(WindowAggregate, OutOfOrderInputMatchesBruteForce) {
  for (bool snapshot : {false, true}) {
    SCOPED_TRACE(snapshot ? "with snapshot/restore" : "straight");
    random_matches_brute_force("{kind: tumbling, size: 1s}", snapshot);
    random_matches_brute_force("{kind: sliding, size: 10s, slide: 1s}", snapshot);
    random_matches_brute_force("{kind: sliding, size: 5s, slide: 2s}", snapshot);
    random_matches_brute_force("{kind: sliding, size: 16s, slide: 2s}", snapshot);
    random_matches_brute_force("{kind: session, gap: 400ms}", snapshot);
  }
}

// Events far behind the watermark, all within allowed lateness: the last record of every
// window (re-fired as late events update it) equals the brute-force result.
TEST(WindowAggregate, LateFiringsConvergeToTheBruteForceResult) {
  // (Not sessions: a late event can merge fired sessions into one with other bounds; the
  // earlier records are superseded, not updated, as in Flink.)
  for (const char* window :
       {"{kind: tumbling, size: 2s}", "{kind: sliding, size: 16s, slide: 2s}"}) {
    SCOPED_TRACE(window);
    const WindowConfig c = parse(std::string("window: ") + window +
                                 "\nallowed_lateness: 1h\nname: w\naggregates: [{name: n, fn: "
                                 "count}, {name: s, fn: sum, property: v}]");
    std::mt19937_64 rng(11);
    std::vector<InputRecord> events;
    for (int i = 0; i < 2000; ++i) {
      const int64_t t = 100'000 + i * 97 - static_cast<int64_t>(rng() % 20'000);
      events.push_back(buy("u" + std::to_string(rng() % 5), t, t % 7));
    }
    OperatorHarness h(std::make_unique<WindowAggregate>(c));
    int64_t max_time = kMinTime;
    std::map<std::string, std::string> latest;  // "key window_start" -> line
    const auto collect = [&] {
      for (const auto& r : h.take_output())
        latest[r.key + " " + *r.property("window_start")] =
            line(r.key, std::stoll(*r.property("window_end")) - 1,
                 std::stoll(*r.property("window_start")), std::stoll(*r.property("window_end")),
                 "n=" + *r.property("n") + " s=" + *r.property("s"));
    };
    for (size_t i = 0; i < events.size(); i += 10) {
      std::vector<InputRecord> batch(events.begin() + static_cast<std::ptrdiff_t>(i),
                                     events.begin() + static_cast<std::ptrdiff_t>(i + 10));
      for (const auto& r : batch) max_time = std::max(max_time, r.time);
      h.process(batch);
      h.watermark(max_time - 1000);  // many events arrive behind it
      collect();
    }
    h.end_of_input();
    collect();
    EXPECT_EQ(h.op_as<WindowAggregate>().late_events(), 0u);
    EXPECT_GT(h.op_as<WindowAggregate>().late_firings(), 0u);
    std::vector<std::string> actual;
    for (const auto& [k, l] : latest) actual.push_back(l);
    std::sort(actual.begin(), actual.end());
    EXPECT_EQ(actual, brute_force(c, events));
  }
}

TEST(WindowAggregate, ConfigErrorsNameTheLine) {
  const auto error = [](const std::string& yaml) {
    return testing::spec_error_of([&] { parse(yaml); });
  };
  EXPECT_THAT(error("window: {kind: hopping, size: 1s}\naggregates: [{name: n, fn: count}]"),
              HasSubstr("test.yaml:1"));
  EXPECT_THAT(error("window: {kind: sliding, size: 1s, slide: 2s}\n"
                    "aggregates: [{name: n, fn: count}]"),
              HasSubstr("'slide' must not exceed 'size'"));
  EXPECT_THAT(error("window: {kind: tumbling, size: 1s}\naggregates:\n  - {name: n, fn: median}"),
              HasSubstr("test.yaml:3"));
  EXPECT_THAT(error("window: {kind: tumbling, size: 1s}\naggregates:\n  - {name: n, fn: sum}"),
              HasSubstr("needs a 'property'"));
  EXPECT_THAT(error("window: {kind: tumbling, size: 1s}\naggregates: []"),
              HasSubstr("at least one"));
  EXPECT_THAT(error("window: {kind: session, gap: 1s, size: 2s}\n"
                    "aggregates: [{name: n, fn: count}]"),
              HasSubstr("size"));
}

}  // namespace
}  // namespace segflow

namespace segflow {
namespace {

TEST(WindowAggregate, RefusesSnapshotsOfTheFormerAccumulatorLayout) {
  WindowAggregate op(parse(std::string("window: {kind: tumbling, size: 10s}") + kAllAggregates));
  StateWriter w;
  w.u64(1);  // version 1: 56-byte accumulators
  StateReader r(w.data());
  try {
    op.restore(r);
    FAIL() << "a version 1 snapshot was restored";
  } catch (const StateFormatError& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown state format version 1"));
  }
}

TEST(WindowAggregate, SnapshotKeepsEveryAggregateAndTheTimers) {
  const WindowConfig c =
      parse(std::string("window: {kind: sliding, size: 10s, slide: 5s}") + kAllAggregates +
            "  - {name: d, fn: count_distinct, property: v}\n"
            "  - {name: d2, fn: count_distinct, property: v, exact_limit: 1}\n");
  const std::vector<InputRecord> first = {buy("u1", 1000, 5), buy("u1", 3000, 2),
                                          buy("u2", 4000, 1), buy("u1", 6000, 5)};
  const std::vector<InputRecord> second = {buy("u1", 7000, 9), buy("u2", 12'000, 3)};
  OperatorHarness straight(std::make_unique<WindowAggregate>(c));
  straight.process(first);
  straight.watermark(5500);
  straight.process(second);
  straight.end_of_input();

  OperatorHarness before(std::make_unique<WindowAggregate>(c));
  before.process(first);
  before.watermark(5500);
  std::vector<std::string> lines = before.take_output_lines();
  OperatorHarness after(std::make_unique<WindowAggregate>(c));
  after.restore(before.snapshot());
  after.watermark(5500);
  after.process(second);
  after.end_of_input();
  for (auto& l : after.take_output_lines()) lines.push_back(l);
  std::vector<std::string> expected = straight.take_output_lines();
  std::sort(lines.begin(), lines.end());  // the order across profiles may differ
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(lines, expected);
  EXPECT_THAT(lines, ::testing::Contains(line("u1", 9999, 0, 10'000,
                                              "n=4 total=21 lo=2 hi=9 mean=5.25 first=5 last=9 "
                                              "d=3 d2=3")));
}

}  // namespace
}  // namespace segflow

namespace segflow {
namespace {

// Identity merges: the merged-away profile's windows move into the survivor's on another
// subtask. After the merge, the last result the survivor emitted for every window must be
// what one profile holding all the events would have emitted (allowed lateness keeps every
// window open to late firings here), for tumbling, sliding and session windows.
class WindowMergeTest : public ::testing::TestWithParam<std::string> {};

// (window_start, window_end) -> the aggregates of the last record emitted for it; sessions
// that a later merge of sessions superseded (inside another emitted window) left out.
std::map<std::pair<int64_t, int64_t>, std::string> last_per_window(
    const std::vector<std::string>& lines) {
  std::map<std::pair<int64_t, int64_t>, std::string> last;
  for (const std::string& l : lines) {
    const size_t start = l.find(" window_start=") + 14;
    const size_t end = l.find(" window_end=") + 12;
    const size_t rest = l.find(' ', end);
    last[{std::stoll(l.substr(start)), std::stoll(l.substr(end))}] = l.substr(rest);
  }
  std::erase_if(last, [&](const auto& w) {
    return std::any_of(last.begin(), last.end(), [&](const auto& o) {
      return o.first != w.first && o.first.first <= w.first.first &&
             w.first.second <= o.first.second;
    });
  });
  return last;
}

TEST_P(WindowMergeTest, SurvivorEndsWithTheResultsOfAllEventsTogether) {
  const WindowConfig c = parse(GetParam() + R"yaml(
allowed_lateness: 1h
name: w
aggregates:
  - {name: n, fn: count}
  - {name: total, fn: sum, property: v}
  - {name: top, fn: max, property: v}
  - {name: distinct, fn: count_distinct, property: v}
)yaml");
  testing::HarnessOptions o0, o1;
  o0.parallelism = o1.parallelism = 2;
  o1.subtask = 1;
  OperatorHarness h0(std::make_unique<WindowAggregate>(c), o0);
  OperatorHarness h1(std::make_unique<WindowAggregate>(c), o1);
  OperatorHarness reference(std::make_unique<WindowAggregate>(c));
  std::string merged, survivor;
  for (int i = 0; merged.empty() || survivor.empty(); ++i) {
    const std::string key = "p" + std::to_string(i);
    (h0.owns_key(key) ? merged : survivor) = key;
  }
  std::mt19937_64 rng(5);
  std::vector<InputRecord> before_merged, before_survivor, after, all;
  for (int i = 0; i < 60; ++i) {
    const int64_t t = static_cast<int64_t>(rng() % 40'000);
    const int64_t v = static_cast<int64_t>(rng() % 7);
    (rng() % 2 == 0 ? before_merged : before_survivor).push_back(buy("x", t, v));
    after.push_back(buy(survivor, 25'001 + static_cast<int64_t>(rng() % 30'000), v));
  }
  for (auto& r : before_merged) r.key = merged;
  for (auto& r : before_survivor) r.key = survivor;
  for (auto rs : {before_merged, before_survivor})
    for (auto r : rs) all.push_back({"ref", r.time, r.event, r.properties});
  h0.process(before_merged);
  h1.process(before_survivor);
  reference.process(all);
  h0.watermark(25'000);
  h1.watermark(25'000);
  reference.watermark(25'000);
  h0.clear_output();

  std::vector<std::string> survivor_lines = h1.take_output_lines();
  Output out(
      [&](BatchPtr& b) {
        for (const Record& r : b->records()) {
          std::string l = "derived " + std::string(r.key) + " @" + std::to_string(r.event_time);
          for (const Property& p : b->properties(r))
            l += " " + std::string(symbol_name(p.name)) + "=" + testing::render_value(p.value);
          survivor_lines.push_back(l);
        }
      },
      16);
  StateWriter w;
  h0.op().export_profile(merged, 24'000, w, out);
  out.flush();
  EXPECT_EQ(h0.op_as<WindowAggregate>().tracked_profiles(), 0u);
  const std::string bytes = w.take();
  StateReader r(bytes);
  h1.op().import_profile(survivor, merged, 24'000, r, out);
  out.flush();
  EXPECT_TRUE(r.done());
  for (const std::string& l : survivor_lines) EXPECT_THAT(l, HasSubstr(survivor));

  std::vector<InputRecord> after_ref;
  for (auto rec : after) after_ref.push_back({"ref", rec.time, rec.event, rec.properties});
  h1.process(after);
  reference.process(after_ref);
  h1.end_of_input();
  reference.end_of_input();
  for (auto& l : h1.take_output_lines()) survivor_lines.push_back(l);
  h0.end_of_input();
  EXPECT_THAT(h0.output(), IsEmpty());
  const auto expected = last_per_window(reference.take_output_lines());
  EXPECT_GT(expected.size(), 3u);
  EXPECT_EQ(last_per_window(survivor_lines), expected);
}

INSTANTIATE_TEST_SUITE_P(Kinds, WindowMergeTest,
                         ::testing::Values("window: {kind: tumbling, size: 10s}",
                                           "window: {kind: sliding, size: 10s, slide: 2s}",
                                           "window: {kind: session, gap: 800ms}"));

TEST(WindowAggregate, WhereFiltersEachAggregate) {
  const WindowConfig c = parse(R"yaml(
window: {kind: tumbling, size: 10s}
name: w
aggregates:
  - {name: all, fn: count}
  - {name: buys, fn: count, events: [buy]}
  - {name: big, fn: sum, property: v, where: "v > 4"}
  - {name: red, fn: count, where: "color == 'red'"}
  - {name: not_red, fn: count, where: "color != 'red'"}
  - {name: colored, fn: count, where: "exists(color)"}
  - {name: red_or_big_buys, fn: count, events: [buy, view], where: "color in ['red'] or v * 2 >= 10"}
)yaml");
  OperatorHarness h(std::make_unique<WindowAggregate>(c));
  h.process({buy("u1", 1000, 5),
             buy("u1", 2000, 4),
             {"u1", 3000, "view", {{"v", int64_t{9}}, {"color", std::string("red")}}},
             {"u1", 4000, "view", {{"color", std::string("blue")}}},
             {"u1", 5000, "view", {{"color", int64_t{3}}}}});
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre(line("u1", 9999, 0, 10'000,
                               "all=5 buys=2 big=14 red=1 not_red=2 colored=3 red_or_big_buys=2")));
}

TEST(WindowAggregate, WhereConfigErrors) {
  const auto error = [](const std::string& filter) {
    return testing::spec_error_of([&] {
      parse("window: {kind: tumbling, size: 1s}\naggregates:\n  - {name: n, fn: count, " + filter +
            "}");
    });
  };
  // file:line:col of the expression's character.
  EXPECT_THAT(error("where: 'p like 3'"), HasSubstr(":3:"));
  EXPECT_THAT(error("where: 'p >'"), HasSubstr("where"));
  EXPECT_THAT(error("where: {property: p, op: gt, value: 1}"), Not(HasSubstr("no error")));
  EXPECT_THAT(error("events: []"), HasSubstr("'events' must name at least one event"));
  EXPECT_THAT(error("colour: red"), HasSubstr("colour"));
  EXPECT_THAT(error("where: 'p > 1 and exists(q)'"), HasSubstr("no error"));
}

}  // namespace
}  // namespace segflow

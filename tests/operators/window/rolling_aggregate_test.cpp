#include "operators/window/rolling_aggregate.h"

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/spec_error.h"
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
using Config = RollingAggregate::Config;

Config parse(const std::string& yaml) {
  return Config::parse(
      ConfigNode(YAML::Load(yaml), std::make_shared<const std::string>("test.yaml"), ""));
}

const Config& spend_10s() {
  static const Config c = parse(R"(
window: 10s
events: [buy]
name: t
traits:
  - {name: n, fn: count}
  - {name: spend, fn: sum, property: v}
  - {name: top, fn: max, property: v}
)");
  return c;
}

InputRecord buy(const std::string& key, int64_t t, int64_t v) {
  return {key, t, "buy", {{"v", v}}};
}

TEST(RollingAggregate, UpdatesOnEventsAndWhenTheyAgeOutWithoutNewEvents) {
  OperatorHarness h(std::make_unique<RollingAggregate>(spend_10s()));
  h.process({buy("u1", 1000, 5), buy("u1", 3000, 2), {"u1", 3500, "view"}});
  h.watermark(3000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre("derived u1 @1000 t n=1 spend=5 top=5",
                                                 "derived u1 @3000 t n=2 spend=7 top=5"));
  h.watermark(10'999);
  EXPECT_THAT(h.output(), IsEmpty());
  h.watermark(11'000);  // the event at 1000 counts in (1000, 11000]... until 11000 excluded
  EXPECT_THAT(h.take_output_lines(), ElementsAre("derived u1 @11000 t n=1 spend=2 top=2"));
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(), ElementsAre("derived u1 @13000 t n=0 spend=null top=null"));
  EXPECT_EQ(h.op_as<RollingAggregate>().tracked_profiles(), 0u);
}

TEST(RollingAggregate, ChangesAtOneInstantAreNetted) {
  OperatorHarness h(std::make_unique<RollingAggregate>(spend_10s()));
  h.process({buy("u1", 1000, 5), buy("u1", 11'000, 5)});  // one enters as the other leaves
  h.watermark(20'000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre("derived u1 @1000 t n=1 spend=5 top=5"));
}

TEST(RollingAggregate, LateEventsGoToDeadLetters) {
  OperatorHarness h(std::make_unique<RollingAggregate>(spend_10s()));
  h.watermark(5000);
  h.process({buy("u1", 5000, 1), buy("u1", 5001, 1)});
  EXPECT_EQ(h.op_as<RollingAggregate>().late_events(), 1u);
  EXPECT_EQ(h.dead_letters().count(std::string(RollingAggregate::kLateReason)), 1u);
}

// Reference: the values at every instant an event enters or leaves, from all events.
std::vector<std::string> brute_force(const std::vector<InputRecord>& in, int64_t window) {
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> by_key;
  for (const InputRecord& r : in)
    by_key[r.key].push_back({r.time, std::get<int64_t>(r.properties[0].second)});
  std::vector<std::string> lines;
  for (const auto& [key, events] : by_key) {
    std::vector<int64_t> instants;
    for (const auto& [t, v] : events) {
      instants.push_back(t);
      instants.push_back(t + window);
    }
    std::sort(instants.begin(), instants.end());
    instants.erase(std::unique(instants.begin(), instants.end()), instants.end());
    std::string last = "n=0 spend=null top=null";
    for (int64_t now : instants) {
      int64_t n = 0, sum = 0, top = 0;
      for (const auto& [t, v] : events)
        if (now - window < t && t <= now) {
          top = n == 0 ? v : std::max(top, v);
          sum += v;
          ++n;
        }
      const std::string values = n == 0
                                     ? "n=0 spend=null top=null"
                                     : "n=" + std::to_string(n) + " spend=" + std::to_string(sum) +
                                           " top=" + std::to_string(top);
      if (values != last)
        lines.push_back("derived " + key + " @" + std::to_string(now) + " t " + values);
      last = values;
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST(RollingAggregate, OutOfOrderInputMatchesBruteForceAcrossASnapshot) {
  std::mt19937_64 rng(3);
  std::vector<InputRecord> events;
  constexpr int64_t kBound = 4000;
  for (int i = 0; i < 2000; ++i) {
    const int64_t t = i * 53 + static_cast<int64_t>(rng() % kBound);
    events.push_back(buy("u" + std::to_string(rng() % 5), t, static_cast<int64_t>(rng() % 20)));
  }
  auto h = std::make_unique<OperatorHarness>(std::make_unique<RollingAggregate>(spend_10s()));
  std::vector<std::string> actual;
  int64_t max_time = kMinTime;
  for (size_t i = 0; i < events.size(); i += 10) {
    std::vector<InputRecord> batch(events.begin() + static_cast<std::ptrdiff_t>(i),
                                   events.begin() + static_cast<std::ptrdiff_t>(i + 10));
    for (const auto& r : batch) max_time = std::max(max_time, r.time);
    h->process(batch);
    h->watermark(max_time - kBound - 1);
    if (i == 1000) {
      const std::string snap = h->snapshot();
      for (auto& l : h->take_output_lines()) actual.push_back(l);
      h = std::make_unique<OperatorHarness>(std::make_unique<RollingAggregate>(spend_10s()));
      h->restore(snap);
      h->watermark(max_time - kBound - 1);
    }
  }
  h->end_of_input();
  EXPECT_EQ(h->op_as<RollingAggregate>().late_events(), 0u);
  for (auto& l : h->take_output_lines()) actual.push_back(l);
  // Sums and maxima render as doubles: "7" either way for whole numbers.
  std::sort(actual.begin(), actual.end());
  EXPECT_EQ(actual, brute_force(events, 10'000));
}

// Snapshots of 2 subtasks restored at parallelism 3 (each subtask restores both and keeps
// its key groups), then 1: the records match the brute force as without a restore.
TEST(RollingAggregate, RestoresAtOtherParallelismsAsBruteForce) {
  std::mt19937_64 rng(17);
  std::vector<InputRecord> events;
  constexpr int64_t kBound = 3000;
  for (int i = 0; i < 3000; ++i) {
    const int64_t t = i * 41 + static_cast<int64_t>(rng() % kBound);
    events.push_back(
        buy("user-" + std::to_string(rng() % 23), t, static_cast<int64_t>(rng() % 30) - 10));
  }
  const auto start = [](uint32_t parallelism) {
    std::vector<std::unique_ptr<OperatorHarness>> hs;
    for (uint32_t i = 0; i < parallelism; ++i) {
      testing::HarnessOptions o;
      o.parallelism = parallelism;
      o.subtask = i;
      hs.push_back(
          std::make_unique<OperatorHarness>(std::make_unique<RollingAggregate>(spend_10s()), o));
    }
    return hs;
  };
  std::vector<std::string> actual;
  const auto collect = [&](std::vector<std::unique_ptr<OperatorHarness>>& hs) {
    for (auto& h : hs)
      for (auto& l : h->take_output_lines()) actual.push_back(l);
  };
  auto hs = start(2);
  int64_t max_time = kMinTime;
  for (size_t i = 0; i < events.size(); i += 10) {
    if (i == 1000 || i == 2000) {
      std::vector<std::string> snaps;
      for (auto& h : hs) snaps.push_back(h->snapshot());
      collect(hs);
      hs = start(i == 1000 ? 3 : 1);
      for (auto& h : hs) {
        for (const std::string& snap : snaps) h->restore(snap);
        h->watermark(max_time - kBound - 1);
      }
    }
    for (auto& h : hs) {
      std::vector<InputRecord> mine;
      for (size_t j = i; j < i + 10; ++j)
        if (h->owns_key(events[j].key)) mine.push_back(events[j]);
      h->process(mine);
    }
    for (size_t j = i; j < i + 10; ++j) max_time = std::max(max_time, events[j].time);
    for (auto& h : hs) h->watermark(max_time - kBound - 1);
  }
  for (auto& h : hs) {
    h->end_of_input();
    EXPECT_EQ(h->op_as<RollingAggregate>().late_events(), 0u);
    EXPECT_EQ(h->op_as<RollingAggregate>().tracked_profiles(), 0u);
  }
  collect(hs);
  std::sort(actual.begin(), actual.end());
  const std::vector<std::string> expected = brute_force(events, 10'000);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) ASSERT_EQ(actual[i], expected[i]) << i;
}

TEST(RollingAggregate, ConfigErrorsNameTheLine) {
  const auto error = [](const std::string& yaml) {
    return testing::spec_error_of([&] { parse(yaml); });
  };
  EXPECT_THAT(error("window: 0s\ntraits: [{name: n, fn: count}]"), HasSubstr("longer than 0ms"));
  EXPECT_THAT(error("window: 1s\ntraits:\n  - {name: n, fn: median}"), HasSubstr("test.yaml:3"));
  EXPECT_THAT(error("window: 1s\ntraits:\n  - {name: n, fn: sum}"),
              HasSubstr("needs a 'property'"));
  EXPECT_THAT(error("window: 1s\ntraits: []"), HasSubstr("at least one"));
}

// Traits of every kind, filters at both levels and `forward: true`, on out-of-order input
// with a snapshot midway, against a brute-force evaluation in event time: every change
// record and every forwarded event (carrying value(its time)) must match.
struct TestEvent {
  std::string key;
  int64_t time = 0;
  std::string name;
  std::optional<int64_t> v;
  std::optional<std::string> c;
};

const Config& every_kind() {
  static const Config c = parse(R"yaml(
window: 10s
name: t
forward: true
where: "not (c == 'green' and v == 0)"
traits:
  - {name: n, fn: count}
  - {name: first_c, fn: first, property: c}
  - {name: last_c, fn: last, property: c}
  - {name: colors, fn: count_distinct, property: c}
  - {name: big, fn: count, where: "v > 4"}
  - {name: buy_sum, fn: sum, property: v, events: [buy]}
)yaml");
  return c;
}

std::string reference_values(const std::vector<TestEvent>& events, int64_t now) {
  int64_t n = 0, big = 0;
  std::optional<std::string> first, last;
  std::set<std::string> colors;
  std::optional<int64_t> buy_sum;
  for (const TestEvent& e : events) {  // ascending time
    if (!(now - 10'000 < e.time && e.time <= now)) continue;
    if (e.c == "green" && e.v == 0) continue;  // the operator's `where`
    ++n;
    if (e.c) {
      if (!first) first = e.c;
      last = e.c;
      colors.insert(*e.c);
    }
    if (e.v && *e.v > 4) ++big;
    if (e.v && e.name == "buy") buy_sum = buy_sum.value_or(0) + *e.v;
  }
  const auto quoted = [](const std::optional<std::string>& s) {
    return s ? "\"" + *s + "\"" : std::string("null");
  };
  return "computed.n=" + std::to_string(n) + " computed.first_c=" + quoted(first) +
         " computed.last_c=" + quoted(last) + " computed.colors=" + std::to_string(colors.size()) +
         " computed.big=" + std::to_string(big) +
         " computed.buy_sum=" + (buy_sum ? std::to_string(*buy_sum) : std::string("null"));
}

std::vector<std::string> reference_output(const std::vector<TestEvent>& in) {
  std::map<std::string, std::vector<TestEvent>> by_key;
  for (const TestEvent& e : in) by_key[e.key].push_back(e);
  std::vector<std::string> lines;
  for (auto& [key, events] : by_key) {
    std::sort(events.begin(), events.end(),
              [](const TestEvent& a, const TestEvent& b) { return a.time < b.time; });
    std::vector<int64_t> instants;
    for (const TestEvent& e : events) {
      instants.push_back(e.time);
      instants.push_back(e.time + 10'000);
    }
    std::sort(instants.begin(), instants.end());
    instants.erase(std::unique(instants.begin(), instants.end()), instants.end());
    std::string last = reference_values(events, kMinTime + 10'000);
    for (int64_t now : instants) {
      const std::string values = reference_values(events, now);
      if (values != last)
        lines.push_back("derived " + key + " @" + std::to_string(now) + " t " + values);
      last = values;
    }
    for (const TestEvent& e : events) {
      std::string line = "track " + key + " @" + std::to_string(e.time) + " " + e.name;
      if (e.v) line += " v=" + std::to_string(*e.v);
      if (e.c) line += " c=\"" + *e.c + "\"";
      lines.push_back(line + " " + reference_values(events, e.time));
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST(RollingAggregate, EveryTraitKindAndForwardedEventsMatchBruteForceAcrossASnapshot) {
  std::mt19937_64 rng(11);
  constexpr int64_t kBound = 4000;
  const char* colors[] = {"red", "blue", "green", "teal"};
  std::vector<TestEvent> events;
  for (int i = 0; i < 1500; ++i) {
    TestEvent e;
    e.key = "u" + std::to_string(rng() % 4);
    e.time = i * 37;  // distinct times: first/last do not depend on arrival order
    e.name = rng() % 3 == 0 ? "buy" : "view";
    if (rng() % 4 != 0) e.v = static_cast<int64_t>(rng() % 10);
    if (rng() % 4 != 0) e.c = colors[rng() % 4];
    events.push_back(e);
  }
  // Arrival order: shuffled within the out-of-orderness bound.
  std::vector<std::pair<int64_t, size_t>> order;
  for (size_t i = 0; i < events.size(); ++i)
    order.push_back({events[i].time + static_cast<int64_t>(rng() % kBound), i});
  std::sort(order.begin(), order.end());
  std::vector<InputRecord> arrivals;
  for (const auto& [at, i] : order) {
    const TestEvent& e = events[i];
    InputRecord r{e.key, e.time, e.name};
    if (e.v) r.properties.push_back({"v", *e.v});
    if (e.c) r.properties.push_back({"c", *e.c});
    arrivals.push_back(r);
  }
  auto h = std::make_unique<OperatorHarness>(std::make_unique<RollingAggregate>(every_kind()));
  std::vector<std::string> actual;
  int64_t max_time = kMinTime;
  for (size_t i = 0; i < arrivals.size(); i += 10) {
    std::vector<InputRecord> batch(arrivals.begin() + static_cast<std::ptrdiff_t>(i),
                                   arrivals.begin() + static_cast<std::ptrdiff_t>(i + 10));
    for (const auto& r : batch) max_time = std::max(max_time, r.time);
    h->process(batch);
    h->watermark(max_time - kBound - 1);
    if (i == 700) {
      EXPECT_GT(h->op_as<RollingAggregate>().held_events(), 0u);
      const std::string snap = h->snapshot();
      for (auto& l : h->take_output_lines()) actual.push_back(l);
      h = std::make_unique<OperatorHarness>(std::make_unique<RollingAggregate>(every_kind()));
      h->restore(snap);
      h->watermark(max_time - kBound - 1);
    }
  }
  h->end_of_input();
  EXPECT_EQ(h->op_as<RollingAggregate>().late_events(), 0u);
  EXPECT_EQ(h->op_as<RollingAggregate>().held_events(), 0u);
  for (auto& l : h->take_output_lines()) actual.push_back(l);
  std::sort(actual.begin(), actual.end());
  const std::vector<std::string> expected = reference_output(events);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) ASSERT_EQ(actual[i], expected[i]) << i;
}

TEST(RollingAggregate, AllowedLatenessUpdatesAndReEmitsThenLateEventsAreCounted) {
  const Config c =
      parse("window: 10s\nallowed_lateness: 5s\nname: t\ntraits: [{name: n, fn: count}]");
  OperatorHarness h(std::make_unique<RollingAggregate>(c));
  h.process({{"u1", 1000, "view"}});
  h.watermark(8000);
  EXPECT_THAT(h.take_output_lines(), ElementsAre("derived u1 @1000 t n=1"));
  h.process({{"u1", 4000, "view"}});  // behind the watermark, within the lateness
  EXPECT_THAT(h.take_output_lines(), ElementsAre("derived u1 @8001 t n=2"));
  h.process({{"u1", 3000, "view"}});  // 8000 - 5000: later than allowed
  EXPECT_THAT(h.output(), IsEmpty());
  EXPECT_EQ(h.op_as<RollingAggregate>().late_events(), 1u);
  EXPECT_EQ(h.op_as<RollingAggregate>().late_accepted(), 1u);
  EXPECT_EQ(h.dead_letters().count(std::string(RollingAggregate::kLateReason)), 1u);
  h.end_of_input();
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre("derived u1 @11000 t n=1", "derived u1 @14000 t n=0"));
}

TEST(RollingAggregate, FilterConfigErrorsNameTheLineAndColumn) {
  const auto error = [](const std::string& yaml) {
    return testing::spec_error_of([&] { parse(yaml); });
  };
  EXPECT_THAT(error("window: 1s\nwhere: 'v >'\ntraits: [{name: n, fn: count}]"),
              HasSubstr("test.yaml:2:"));
  EXPECT_THAT(error("window: 1s\ntraits:\n  - {name: n, fn: count, where: 'v in 3'}"),
              HasSubstr("test.yaml:3:"));
  EXPECT_THAT(error("window: 1s\ntraits:\n  - {name: n, fn: count, events: []}"),
              HasSubstr("at least one event"));
  EXPECT_THAT(error("window: 1s\nallowed_lateness: -1s\ntraits: [{name: n, fn: count}]"),
              Not(HasSubstr("no error")));
  EXPECT_THAT(error("window: 1s\ntraits: [{name: n, fn: last}]"), HasSubstr("needs a 'property'"));
}

// Identity merge hooks: the merged-away profile's events move to the survivor on another
// subtask; it emits its empty values once, the survivor its merged values.
TEST(RollingAggregate, MergedAwayProfileMovesItsEventsToTheSurvivor) {
  testing::HarnessOptions o0, o1;
  o0.parallelism = o1.parallelism = 2;
  o1.subtask = 1;
  OperatorHarness h0(std::make_unique<RollingAggregate>(spend_10s()), o0);
  OperatorHarness h1(std::make_unique<RollingAggregate>(spend_10s()), o1);
  std::string merged, survivor;
  for (int i = 0; merged.empty() || survivor.empty(); ++i) {
    const std::string key = "p" + std::to_string(i);
    (h0.owns_key(key) ? merged : survivor) = key;
  }
  h0.process({buy(merged, 1000, 5), buy(merged, 3000, 2), buy(merged, 9000, 1)});
  h0.watermark(4000);
  h1.process({buy(survivor, 2000, 10)});
  h1.watermark(4000);
  h0.clear_output();
  h1.clear_output();

  std::vector<std::string> emitted;
  Output out(
      [&](BatchPtr& b) {
        for (const Record& r : b->records()) {
          std::string line = std::string(r.key) + " @" + std::to_string(r.event_time);
          for (const Property& p : b->properties(r)) {
            line += " " + std::string(symbol_name(p.name)) + "=";
            line += p.value.is_null()                   ? "null"
                    : p.value.type() == ValueType::kInt ? std::to_string(p.value.as_int())
                                                        : std::to_string(p.value.as_double());
          }
          emitted.push_back(line);
        }
      },
      16);
  StateWriter w;
  h0.op().export_profile(merged, 3500, w, out);
  out.flush();
  EXPECT_THAT(emitted, ElementsAre(merged + " @4001 n=0 spend=null top=null"));
  EXPECT_EQ(h0.op_as<RollingAggregate>().tracked_profiles(), 0u);
  emitted.clear();
  const std::string bytes = w.take();
  StateReader r(bytes);
  h1.op().import_profile(survivor, merged, 3500, r, out);
  out.flush();
  EXPECT_TRUE(r.done());
  EXPECT_THAT(emitted, ElementsAre(survivor + " @4001 n=3 spend=17.000000 top=10.000000"));
  h1.end_of_input();
  EXPECT_THAT(h1.take_output_lines(),
              ElementsAre("derived " + survivor + " @9000 t n=4 spend=18 top=10",
                          "derived " + survivor + " @11000 t n=3 spend=13 top=10",
                          "derived " + survivor + " @12000 t n=2 spend=3 top=2",
                          "derived " + survivor + " @13000 t n=1 spend=1 top=1",
                          "derived " + survivor + " @19000 t n=0 spend=null top=null"));
  h0.end_of_input();
  EXPECT_THAT(h0.output(), IsEmpty());
}

}  // namespace
}  // namespace segflow

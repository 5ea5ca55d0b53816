#include "operators/window/window_combiner.h"

#include <algorithm>
#include <functional>
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/spec_error.h"
#include "operators/window/window_aggregate.h"
#include "tests/operators/window/window_test_support.h"
#include "tests/support/operator_harness.h"

namespace segflow {
namespace {

using ::segflow::testing::OperatorHarness;
using ::testing::HasSubstr;

WindowConfig parse(const std::string& yaml) { return testing::parse_window(yaml); }

// Every mergeable function, a count distinct past its exact limit and a filtered count.
const std::string kAggregates = std::string(testing::kAllAggregates) +
                                "  - {name: d, fn: count_distinct, property: v, exact_limit: 3}\n"
                                "  - {name: big, fn: count, where: 'v > 50'}\n";

struct Event {
  std::string key;
  int64_t time = 0;
  std::string event;
  int64_t value = 0;
};

void add(Batch& b, const Event& e) {
  b.add(EventKind::kTrack, e.key, e.time, intern(e.event)).set("v", Value::integer(e.value));
}

// A combiner driven as the runtime drives a chained operator; what it emits goes to the
// window operator's harness, as over the hash edge (one producer).
class CombinedWindow {
 public:
  explicit CombinedWindow(const WindowConfig& c)
      : combiner_(std::make_unique<WindowCombiner>(c)),
        window_(std::make_unique<WindowAggregate>(c)),
        out_([this](BatchPtr& b) { window_.process_batch(*b); }, 16) {
    ctx_.operator_id = "w.combine";
    ctx_.timers = &timers_;
    combiner_->open(ctx_);
  }
  void process(const Batch& b) {
    combiner_->process(b, out_);
    out_.flush();
  }
  void watermark(int64_t wm) {
    if (wm <= ctx_.watermark) return;
    ctx_.watermark = wm;
    combiner_->on_watermark(wm, out_);
    out_.flush();
    window_.watermark(wm);
  }
  void end_of_input() {
    watermark(kMaxTime);
    combiner_->close(out_);
    out_.flush();
    window_.end_of_input();
  }
  // Replaces the combiner by a new instance restored from its snapshot (the watermark
  // starts again from kMinTime, as after a restart).
  void restart_combiner(const WindowConfig& c) {
    StateWriter w;
    combiner_->snapshot(w);
    combiner_ = std::make_unique<WindowCombiner>(c);
    ctx_.watermark = kMinTime;
    combiner_->open(ctx_);
    StateReader r(w.data());
    combiner_->restore(r);
    EXPECT_TRUE(r.done());
  }
  WindowCombiner& combiner() { return *combiner_; }
  OperatorHarness& window() { return window_; }
  Output& out() { return out_; }

 private:
  OperatorContext ctx_;
  TimerService timers_;
  std::unique_ptr<WindowCombiner> combiner_;
  OperatorHarness window_;
  Output out_;
};

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Out-of-order events (some far behind the watermark), in batches of 10, watermark after
// each batch: the window operator's output with and without the combiner is the same.
void expect_same_as_without(const std::string& window, int64_t lateness_ms, bool restart) {
  SCOPED_TRACE(window + " lateness " + std::to_string(lateness_ms) + (restart ? " restart" : ""));
  const WindowConfig c =
      parse("window: " + window + "\nallowed_lateness: " + std::to_string(lateness_ms) + "ms" +
            "\ncombine: true" + kAggregates);
  std::mt19937_64 rng(5);
  std::vector<Event> events;
  for (int i = 0; i < 4000; ++i) {
    int64_t t = 10'000 + i * 50 + static_cast<int64_t>(rng() % 2000);
    if (rng() % 40 == 0) t -= 15'000;  // behind the watermark: late, or a late firing
    events.push_back({"u" + std::to_string(rng() % 11), t, rng() % 5 == 0 ? "view" : "buy",
                      static_cast<int64_t>(rng() % 100)});
  }
  OperatorHarness plain(std::make_unique<WindowAggregate>(c));
  CombinedWindow combined(c);
  int64_t max_time = kMinTime;
  std::vector<std::string> want, got;
  for (size_t i = 0; i < events.size(); i += 10) {
    Batch b;
    for (size_t j = i; j < i + 10; ++j) {
      add(b, events[j]);
      max_time = std::max(max_time, events[j].time);
    }
    plain.process_batch(b);
    combined.process(b);
    const int64_t wm = max_time - 2001;
    plain.watermark(wm);
    combined.watermark(wm);
    if (restart && i == 2000) {
      combined.restart_combiner(c);
      combined.watermark(wm);
    }
  }
  plain.end_of_input();
  combined.end_of_input();
  want = plain.take_output_lines();
  got = combined.window().take_output_lines();
  EXPECT_EQ(sorted(got), sorted(want));
  const auto& p = plain.op_as<WindowAggregate>();
  const auto& w = combined.window().op_as<WindowAggregate>();
  EXPECT_GT(p.late_events() + p.late_firings(), 0u);
  EXPECT_EQ(w.late_events(), p.late_events());
  EXPECT_EQ(w.late_firings(), p.late_firings());
  EXPECT_EQ(w.malformed_partials(), 0u);
  EXPECT_EQ(combined.window().dead_letters().total(), plain.dead_letters().total());
  // It did combine: far fewer records crossed than events.
  const WindowCombiner& k = combined.combiner();
  EXPECT_GT(k.folded_events(), 2 * k.partials_sent());
  EXPECT_GT(k.passed_events(), 0u);
  EXPECT_EQ(k.held_panes(), 0u);
}

TEST(WindowCombiner, WindowResultsAreTheSameAsWithoutIt) {
  for (bool restart : {false, true}) {
    expect_same_as_without("{kind: tumbling, size: 5s}", 0, restart);
    expect_same_as_without("{kind: tumbling, size: 5s}", 20'000, restart);
    expect_same_as_without("{kind: sliding, size: 6s, slide: 2s}", 0, restart);
    expect_same_as_without("{kind: sliding, size: 6s, slide: 4s}", 7'000, restart);
  }
}

TEST(WindowCombiner, PanesWaitUntilTheirFirstWindowCanFire) {
  const WindowConfig c =
      parse(std::string("window: {kind: tumbling, size: 10s}\ncombine: true") + kAggregates);
  CombinedWindow cw(c);
  Batch b;
  for (int i = 0; i < 5; ++i) add(b, {"u1", 1000 + i, "buy", i});
  add(b, {"u1", 12'000, "buy", 9});
  add(b, {"u2", 3000, "view", 9});  // not a window event: dropped
  cw.process(b);
  cw.watermark(9998);
  EXPECT_EQ(cw.combiner().held_panes(), 2u);
  EXPECT_EQ(cw.combiner().partials_sent(), 0u);
  cw.watermark(9999);  // the first window ends: its pane goes, then the window fires
  EXPECT_EQ(cw.combiner().partials_sent(), 1u);
  EXPECT_EQ(cw.combiner().held_panes(), 1u);
  EXPECT_THAT(cw.window().take_output_lines(),
              ::testing::ElementsAre("derived u1 @9999 w window_start=0 window_end=10000 n=5 "
                                     "total=10 lo=0 hi=4 mean=2 first=0 last=4 d=5 big=0"));
  // Behind the watermark: passed on as is; the window operator finds it late.
  Batch late;
  add(late, {"u1", 500, "buy", 1});
  cw.process(late);
  EXPECT_EQ(cw.combiner().passed_events(), 1u);
  EXPECT_EQ(cw.window().op_as<WindowAggregate>().late_events(), 1u);
}

TEST(WindowCombiner, AnIdentityMergeSendsTheMergedProfilesPanesFirst) {
  const WindowConfig c =
      parse(std::string("window: {kind: tumbling, size: 10s}\ncombine: true") + kAggregates);
  CombinedWindow cw(c);
  Batch b;
  add(b, {"m", 1000, "buy", 1});
  add(b, {"s", 2000, "buy", 2});
  cw.process(b);
  StateWriter w;
  cw.combiner().export_profile("m", 2500, w, cw.out());
  cw.out().flush();
  EXPECT_TRUE(w.data().empty());
  EXPECT_EQ(cw.combiner().partials_sent(), 1u);
  EXPECT_EQ(cw.combiner().held_panes(), 1u);
  EXPECT_EQ(cw.window().op_as<WindowAggregate>().tracked_profiles(), 1u);  // m's, now there
}

// n events 1 ms apart, event e of profile "k<key_of(e)>", with and without the combiner.
void expect_same_with_keys(CombinedWindow& cw, const WindowConfig& c, size_t n,
                           const std::function<size_t(size_t)>& key_of) {
  OperatorHarness plain(std::make_unique<WindowAggregate>(c));
  for (size_t i = 0; i < n; i += 500) {
    Batch b;
    for (size_t e = i; e < std::min(n, i + 500); ++e)
      b.add(EventKind::kTrack, "k" + std::to_string(key_of(e)), static_cast<int64_t>(e),
            intern("x"))
          .set("v", Value::integer(static_cast<int64_t>(e % 3)));
    cw.process(b);
    plain.process_batch(b);
  }
  cw.end_of_input();
  plain.end_of_input();
  EXPECT_EQ(sorted(cw.window().take_output_lines()), sorted(plain.take_output_lines()));
}

const char* kCountSum =
    "window: {kind: tumbling, size: 1h}\ncombine: true\nname: w\n"
    "aggregates: [{name: n, fn: count}, {name: s, fn: sum, property: v}]";

TEST(WindowCombiner, ManyKeysWithFewEventsPassUnchanged) {
  const WindowConfig c = parse(kCountSum);
  CombinedWindow cw(c);
  const size_t n = WindowCombiner::kCheckEvery + 5000;  // every key once
  expect_same_with_keys(cw, c, n, [](size_t e) { return e; });
  // One event per pane so far: everything went on, and the rest passed unchanged.
  EXPECT_EQ(cw.combiner().partials_sent(), WindowCombiner::kCheckEvery);
  EXPECT_EQ(cw.combiner().passed_events(), 5000u);
}

TEST(WindowCombiner, AFullTableIsSentAndFoldingGoesOn) {
  const WindowConfig c = parse(kCountSum);
  CombinedWindow cw(c);
  const size_t n = 3 * (WindowCombiner::kMaxEntries + 1000);  // each key 3 times in a row
  expect_same_with_keys(cw, c, n, [](size_t e) { return e / 3; });
  EXPECT_EQ(cw.combiner().passed_events(), 0u);
  EXPECT_EQ(cw.combiner().folded_events(), n);
  // One pane per key, but the key whose first event filled the table sends two.
  EXPECT_EQ(cw.combiner().partials_sent(), WindowCombiner::kMaxEntries + 1000 + 1);
}

TEST(WindowCombiner, AMalformedPartialIsADeadLetter) {
  const WindowConfig c =
      parse(std::string("window: {kind: tumbling, size: 10s}\ncombine: true") + kAggregates);
  OperatorHarness h(std::make_unique<WindowAggregate>(c));
  Batch b;
  b.add(EventKind::kDerived, "u1", 0, intern("segflow.window.partial"))
      .set("segflow.window.accumulators", Value::string("garbage"));
  h.process_batch(b);
  EXPECT_EQ(h.op_as<WindowAggregate>().malformed_partials(), 1u);
  EXPECT_EQ(h.dead_letters().count(std::string(WindowAggregate::kMalformedPartialReason)), 1u);
  h.end_of_input();
  EXPECT_TRUE(h.output().empty());
}

TEST(WindowCombiner, SessionsCannotCombine) {
  try {
    parse("window: {kind: session, gap: 1s}\ncombine: true\naggregates: [{name: n, fn: count}]");
    FAIL() << "no error";
  } catch (const SpecError& e) {
    EXPECT_THAT(e.what(), HasSubstr("test.yaml:2:"));
    EXPECT_THAT(e.what(), HasSubstr("tumbling or sliding"));
  }
}

}  // namespace
}  // namespace segflow

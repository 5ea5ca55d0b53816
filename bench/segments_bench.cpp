// The segments operator (`type: segments`) with 1, 100 and 1,000 segments on the same input,
// driven directly on one thread (process, then the due event-time timers, then the
// watermark, as the runtime does). The input: 500,000 events of 10,000 profiles, 1 ms
// apart, each named one of 100 event names at random (fixed seed), with an integer
// property. Each segment counts its events with `properties.v >= 3` over 10 minutes and
// holds above 2; an event touches 1 rule with 1 or 100 segments and 10 rules with 1,000
// (rules are indexed by event name, so the other 990 cost nothing). With 1,000 segments the
// 10 rules of an event name read the same window, so they share one state per profile
// (segment_rules.h): one update per event serves all 10.
// SegmentsOperatorThroughputDistinctWindows: the same, but the 10 rules of an event name
// count over 10 different windows (10m, 11m, .., 19m): each rule has its own count, expiries
// and deadlines. They read the same events, so they keep one entry list (kept for the longest
// window, segment_rules.h), and each counts within its own length.
// SegmentsOperatorThroughputDistinctStates: as DistinctWindows, but each rule also names an
// event of its own that never comes (it reads [E<j>, X<i>]), so no two rules keep the same
// state: each rule touched keeps and updates its own list, 10 per event.
//   build/release/bench/segflow_bench --benchmark_filter=Segments --benchmark_repetitions=3
// Reported: events/s (items_per_second) and entered/exited records per event.
#include <benchmark/benchmark.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>

#include "engine/timer_service.h"
#include "operators/segment/segments_operator.h"

namespace segflow {
namespace {

constexpr size_t kSegmentEvents = 500'000;
constexpr size_t kProfiles = 10'000;
constexpr size_t kEventNames = 100;
constexpr size_t kSegmentBatch = 512;

// Never destroyed: pooled batches must not outlive the batch pool, a static of the engine
// that may be torn down first at exit.
const std::vector<BatchPtr>& segment_input() {
  static std::vector<BatchPtr>& batches = *new std::vector<BatchPtr>;
  if (!batches.empty()) return batches;
  std::mt19937_64 rng(7);
  std::vector<SymbolId> names;
  for (size_t i = 0; i < kEventNames; ++i) names.push_back(intern("E" + std::to_string(i)));
  const SymbolId v = intern("properties.v");
  for (size_t i = 0; i < kSegmentEvents; ++i) {
    if (i % kSegmentBatch == 0) batches.push_back(BatchPtr(new Batch));
    const std::string key = "user-" + std::to_string(rng() % kProfiles);
    batches.back()
        ->add(EventKind::kTrack, key, static_cast<int64_t>(i), names[rng() % kEventNames])
        .set(v, Value::integer(static_cast<int64_t>(rng() % 10)));
  }
  return batches;
}

// How the rules of one event name differ (see the top of the file).
enum class Rules { kSameWindow, kDistinctWindows, kDistinctStates };

// Segment i reads the event names E<j> with j = i modulo min(segments, 100): with 1 segment
// every event touches 1 rule, with 100 segments 1 rule, with 1,000 segments 10 rules.
// Distinct windows: segment i counts over 10 + i / 100 minutes (else 10); distinct states:
// it also reads X<i>, which no event is named.
SegmentsOperator::Config segments_config(size_t segments, Rules rules) {
  const bool distinct_windows = rules != Rules::kSameWindow;
  const size_t groups = std::min(segments, kEventNames);
  std::string yaml = "emitted_at: false\nsegments:\n";
  for (size_t i = 0; i < segments; ++i) {
    std::string names;
    for (size_t j = i % groups; j < kEventNames; j += groups)
      names += (names.empty() ? "E" : ", E") + std::to_string(j);
    if (rules == Rules::kDistinctStates) names += ", X" + std::to_string(i);
    const size_t minutes = 10 + (distinct_windows ? i / kEventNames : 0);
    yaml += "  - {name: s" + std::to_string(i) + ", enter: {window: {events: [" + names +
            "], where: \"properties.v >= 3\", within: " + std::to_string(minutes) +
            "m, is: \"> 2\"}}}\n";
  }
  return SegmentsOperator::Config::parse(
      ConfigNode(YAML::Load(yaml), std::make_shared<const std::string>("bench.yaml"), "bench"));
}

void run_segments(benchmark::State& state, Rules rules) {
  const auto segments = static_cast<size_t>(state.range(0));
  const SegmentsOperator::Config config = segments_config(segments, rules);
  const auto& batches = segment_input();
  uint64_t changes = 0;
  for (auto _ : state) {
    SegmentsOperator op(config);
    TimerService timers;
    OperatorContext ctx;
    ctx.operator_id = "segments";
    ctx.key_groups = KeyGroupRange::for_subtask(0, ctx.max_parallelism, 1);
    ctx.timers = &timers;
    op.open(ctx);
    Output out([&](BatchPtr& b) { changes += b->size(); }, 1024);
    auto advance = [&](int64_t watermark) {
      ctx.watermark = watermark;
      Timer t;
      while (timers.pop_due(TimeDomain::kEventTime, watermark, t)) op.on_timer(t, out);
      op.on_watermark(watermark, out);
    };
    for (const BatchPtr& b : batches) {
      op.process(*b, out);
      advance(b->records().back().event_time - 1000);
    }
    advance(kMaxTime);
    op.close(out);
    out.flush();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kSegmentEvents));
  state.counters["changes_per_event"] =
      static_cast<double>(changes) / static_cast<double>(state.iterations() * kSegmentEvents);
}

void SegmentsOperatorThroughput(benchmark::State& state) {
  run_segments(state, Rules::kSameWindow);
}
BENCHMARK(SegmentsOperatorThroughput)->Arg(1)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond);

void SegmentsOperatorThroughputDistinctWindows(benchmark::State& state) {
  run_segments(state, Rules::kDistinctWindows);
}
BENCHMARK(SegmentsOperatorThroughputDistinctWindows)->Arg(1000)->Unit(benchmark::kMillisecond);

void SegmentsOperatorThroughputDistinctStates(benchmark::State& state) {
  run_segments(state, Rules::kDistinctStates);
}
BENCHMARK(SegmentsOperatorThroughputDistinctStates)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segflow

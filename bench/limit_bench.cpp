// The limit: the retail job's rolling count-per-key segments and Nexmark q5 / q7 through the
// engine at parallelism 1 and 2, against the same computation as a hand-written
// single-threaded loop (a plain open-addressing hash map, no engine) over the same
// pre-generated events. bench/run.sh prints engine / loop.
//   build/release/bench/segflow_bench --benchmark_filter=Limit --benchmark_repetitions=3
// Events: SEGFLOW_LIMIT_EVENTS (default 2,000,000) generated once per process, before any
// timing: Nexmark at 100,000 events/s of event time (so a run spans several q5/q7
// windows), retail from the `generator` source with 100,000 users and the job's 3 s of
// disorder. Both sides read the records' fields the same way (Batch::find).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <functional>
#include <queue>
#include <string>
#include <vector>

#include "bench/memory_source.h"
#include "bench/open_addressing_map.h"
#include "connectors/generator/generator_source.h"
#include "connectors/nexmark/nexmark_source.h"
#include "engine/executor.h"
#include "engine/string_hash.h"
#include "operators/nexmark/highest_bid.h"
#include "operators/nexmark/hot_items.h"
#include "operators/threshold/rolling_count_threshold.h"
#include "operators/window/window_aggregate.h"

namespace segflow {
namespace {

using bench::IntHash;
using bench::MemorySource;
using bench::OpenAddressingMap;
using bench::pregenerate;

size_t limit_events() {
  const char* env = std::getenv("SEGFLOW_LIMIT_EVENTS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 2'000'000;
}

ConfigNode yaml(const std::string& text) {
  return ConfigNode(YAML::Load(text), std::make_shared<const std::string>("bench"), "");
}

// The pre-generated inputs are never destroyed: pooled batches must not outlive the batch
// pool, a static of the engine that may be torn down first at exit.
const std::vector<BatchPtr>& nexmark_events() {
  static const std::vector<BatchPtr>& batches = *new std::vector<BatchPtr>([] {
    NexmarkSource source(NexmarkSource::Config::parse(
        yaml("{events: " + std::to_string(limit_events()) + ", event_rate: 100000}")));
    return pregenerate(source);
  }());
  return batches;
}

const std::vector<BatchPtr>& retail_events() {
  static const std::vector<BatchPtr>& batches = *new std::vector<BatchPtr>([] {
    GeneratorSource source(
        GeneratorSource::Config::parse(yaml("{seed: 42, users: 100000, out_of_order: 3s, events: " +
                                            std::to_string(limit_events()) + "}")));
    return pregenerate(source);
  }());
  return batches;
}

size_t count_records(const std::vector<BatchPtr>& batches) {
  size_t n = 0;
  for (const BatchPtr& b : batches) n += b->size();
  return n;
}

// CPU time of the whole process (every engine thread), ns.
int64_t process_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// Events/s and, as counter `cpu_ns_per_event`, the CPU time of all threads per event: on a
// loaded machine the second says more about the engine's own cost than wall time does.
class Measure {
 public:
  explicit Measure(benchmark::State& state) : state_(state), started_(process_cpu_ns()) {}
  ~Measure() {
    const double events = static_cast<double>(state_.iterations() * records_);
    state_.counters["cpu_ns_per_event"] =
        static_cast<double>(process_cpu_ns() - started_) / std::max(events, 1.0);
    state_.SetItemsProcessed(static_cast<int64_t>(events));
  }
  void set_records(size_t n) { records_ = n; }

 private:
  benchmark::State& state_;
  int64_t started_;
  size_t records_ = 0;
};

std::atomic<uint64_t> g_results{0};

class CountingSink final : public Operator {
 public:
  void process(const Batch& in, Output&) override { g_results += in.size(); }
};

struct Stage {
  std::string id;
  uint32_t parallelism;
  std::vector<LogicalEdge> inputs;
  OperatorFactory make;
};

// Runs source (at `parallelism`) -> stages -> counting sink once; returns records out.
uint64_t run_graph(const std::vector<BatchPtr>& batches, uint32_t parallelism,
                   int64_t out_of_orderness_ms, const std::vector<Stage>& stages,
                   const std::vector<std::string>& sink_inputs) {
  static DeadLetterOutput dead_letters;
  g_results = 0;
  LogicalGraph g;
  LogicalNode src;
  src.id = "src";
  src.parallelism = parallelism;
  src.make_source = [&] { return std::make_unique<MemorySource>(batches); };
  g.add(src);
  for (const Stage& s : stages) {
    LogicalNode n;
    n.id = s.id;
    n.parallelism = s.parallelism;
    n.inputs = s.inputs;
    n.make_operator = s.make;
    g.add(n);
  }
  LogicalNode sink;
  sink.id = "sink";
  sink.parallelism = 1;
  for (const std::string& in : sink_inputs) sink.inputs.push_back({in, Partitioning::kRebalance});
  sink.make_operator = [] { return std::make_unique<CountingSink>(); };
  g.add(sink);
  g.resolve_default_edges();
  g.validate();
  JobSettings s;
  s.parallelism = parallelism;
  s.out_of_orderness_ms = out_of_orderness_ms;
  Executor e(g, s, {&SystemClock::instance(), &dead_letters});
  e.run();
  return g_results.load();
}

// ---- Nexmark q5: bids per auction per sliding window (10 s every 2 s), the maximum ----

void LimitQ5Engine(benchmark::State& state) {
  const auto parallelism = static_cast<uint32_t>(state.range(0));
  static const WindowConfig window =
      WindowConfig::parse(yaml("{events: [Bid], window: {kind: sliding, size: 10s, slide: 2s}, "
                               "aggregates: [{name: bids, fn: count}]}"));
  static const HotItems::Config hot = HotItems::Config::parse(yaml("{count: bids}"));
  const auto& batches = nexmark_events();
  Measure measure(state);
  measure.set_records(count_records(batches));
  uint64_t results = 0;
  for (auto _ : state)
    results = run_graph(batches, parallelism, 0,
                        {{"count",
                          parallelism,
                          {{"src", Partitioning::kHash}},
                          [] { return std::make_unique<WindowAggregate>(window); }},
                         {"hot",
                          1,
                          {{"count", Partitioning::kRebalance}},
                          [] { return std::make_unique<HotItems>(hot); }}},
                        {"hot"});
  state.counters["results"] = static_cast<double>(results);
}
BENCHMARK(LimitQ5Engine)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void LimitQ5Loop(benchmark::State& state) {
  constexpr int64_t kPane = 2000, kPanes = 5;  // window = 5 panes
  const auto& batches = nexmark_events();
  Measure measure(state);
  measure.set_records(count_records(batches));
  const SymbolId bid = intern("Bid"), auction = intern("bid.auction");
  uint64_t results = 0;
  for (auto _ : state) {
    results = 0;
    // Counts per auction of the last kPanes panes, oldest first; pane index of the newest.
    std::deque<OpenAddressingMap<int64_t, uint32_t, IntHash>> panes;
    int64_t newest = INT64_MIN;
    // Fires the window ending at the start of pane `end_pane`: the max over its panes.
    auto fire = [&](int64_t end_pane) {
      OpenAddressingMap<int64_t, uint32_t, IntHash> window(256);
      bool any = false;
      for (int64_t i = 0; i < static_cast<int64_t>(panes.size()); ++i) {
        const int64_t pane = newest - static_cast<int64_t>(panes.size()) + 1 + i;
        if (pane < end_pane - kPanes || pane >= end_pane) continue;
        panes[static_cast<size_t>(i)].for_each([&](int64_t a, uint32_t n) {
          window[a] += n;
          any = true;
        });
      }
      if (!any) return;
      uint32_t max = 0, at_max = 0;
      window.for_each([&](int64_t, uint32_t n) {
        if (n > max) max = n, at_max = 0;
        at_max += n == max;
      });
      results += at_max;
    };
    for (const BatchPtr& b : batches)
      for (const Record& r : b->records()) {
        if (r.event != bid) continue;
        const int64_t pane = r.event_time / kPane;
        if (newest == INT64_MIN) newest = pane - 1;
        while (newest < pane) {  // events are in time order: panes only open
          fire(newest + 1);
          panes.emplace_back(256);
          if (static_cast<int64_t>(panes.size()) > kPanes) panes.pop_front();
          ++newest;
        }
        ++panes.back()[b->find(r, auction)->as_int()];
      }
    for (int64_t end = newest + 1; end <= newest + kPanes; ++end) fire(end);
  }
  state.counters["results"] = static_cast<double>(results);
}
BENCHMARK(LimitQ5Loop)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- Nexmark q7: the highest bids per tumbling 10 s window ----

void LimitQ7Engine(benchmark::State& state) {
  const auto parallelism = static_cast<uint32_t>(state.range(0));
  static const HighestBid::Config config = HighestBid::Config::parse(yaml("{size: 10s}"));
  const auto& batches = nexmark_events();
  Measure measure(state);
  measure.set_records(count_records(batches));
  uint64_t results = 0;
  for (auto _ : state)
    results = run_graph(batches, parallelism, 0,
                        {{"local",
                          parallelism,
                          {{"src", Partitioning::kForward}},
                          [] { return std::make_unique<HighestBid>(config); }},
                         {"global",
                          1,
                          {{"local", Partitioning::kRebalance}},
                          [] { return std::make_unique<HighestBid>(config); }}},
                        {"global"});
  state.counters["results"] = static_cast<double>(results);
}
BENCHMARK(LimitQ7Engine)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

void LimitQ7Loop(benchmark::State& state) {
  constexpr int64_t kSize = 10'000;
  const auto& batches = nexmark_events();
  Measure measure(state);
  measure.set_records(count_records(batches));
  const SymbolId bid = intern("Bid"), price = intern("bid.price");
  const SymbolId auction = intern("bid.auction"), bidder = intern("bid.bidder");
  struct Row {
    int64_t auction, bidder, price, time;
  };
  uint64_t results = 0;
  for (auto _ : state) {
    results = 0;
    int64_t window = INT64_MIN;
    std::vector<Row> top;
    int64_t checksum = 0;
    for (const BatchPtr& b : batches)
      for (const Record& r : b->records()) {
        if (r.event != bid) continue;
        const int64_t start = r.event_time / kSize * kSize;
        if (start != window) {
          for (const Row& row : top) checksum += row.auction + row.bidder;
          results += top.size();
          top.clear();
          window = start;
        }
        const int64_t p = b->find(r, price)->as_int();
        if (!top.empty() && p < top.front().price) continue;
        if (!top.empty() && p > top.front().price) top.clear();
        top.push_back(
            {b->find(r, auction)->as_int(), b->find(r, bidder)->as_int(), p, r.event_time});
      }
    results += top.size();
    benchmark::DoNotOptimize(checksum);
  }
  state.counters["results"] = static_cast<double>(results);
}
BENCHMARK(LimitQ7Loop)->Unit(benchmark::kMillisecond)->UseRealTime();

// ---- retail: "more than 3 product views in 10 min" and "more than 1 add in 30 min" ----

void LimitRetailEngine(benchmark::State& state) {
  const auto parallelism = static_cast<uint32_t>(state.range(0));
  static const RollingCountThreshold::Config views = RollingCountThreshold::Config::parse(
      yaml("{events: [Product Viewed], window: 10m, threshold: 3}"));
  static const RollingCountThreshold::Config carts = RollingCountThreshold::Config::parse(
      yaml("{events: [Product Added], window: 30m, threshold: 1}"));
  const auto& batches = retail_events();
  Measure measure(state);
  measure.set_records(count_records(batches));
  uint64_t results = 0;
  for (auto _ : state)
    results = run_graph(batches, parallelism, 5000,
                        {{"views",
                          parallelism,
                          {{"src", Partitioning::kHash}},
                          [] { return std::make_unique<RollingCountThreshold>(views); }},
                         {"carts",
                          parallelism,
                          {{"src", Partitioning::kHash}},
                          [] { return std::make_unique<RollingCountThreshold>(carts); }}},
                        {"views", "carts"});
  state.counters["results"] = static_cast<double>(results);
}
BENCHMARK(LimitRetailEngine)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// The operator's semantics, computed in one pass: per profile and rule, how many of its
// events are in the window and whether it is inside. An event is applied when the watermark
// (the largest event time so far - 5 s - 1, as the job's bound) passes its time, in event-time
// order (a min-heap of the events not yet applied); it counts from its time until, excluded,
// its time + window (one FIFO per rule of expiries, in time order since events are applied in
// time order). The changes of one instant (expiries, then events) are netted before the
// profiles they touched are compared with the threshold, so the loop's result count equals
// the engine's. (Until this session the loop counted events in arrival order: less work, and
// a slightly different result, 155,410 against 155,464.)
void LimitRetailLoop(benchmark::State& state) {
  struct Rule {
    SymbolId event;
    int64_t window;
    size_t threshold;
  };
  const Rule rules[2] = {{intern("Product Viewed"), 600'000, 3},
                         {intern("Product Added"), 1'800'000, 1}};
  struct Profile {
    size_t count[2] = {0, 0};
    bool inside[2] = {false, false};
  };
  // An event waiting for the watermark: its time, profile slot and rule.
  struct Pending {
    int64_t time;
    uint32_t slot;
    uint32_t rule;
    bool operator>(const Pending& o) const { return time > o.time; }
  };
  const auto& batches = retail_events();
  Measure measure(state);
  measure.set_records(count_records(batches));
  uint64_t results = 0;
  for (auto _ : state) {
    results = 0;
    std::vector<Profile> profiles;
    OpenAddressingMap<std::string, uint32_t, StringHash, std::string_view> slot_of(1 << 16);
    std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending;
    std::deque<std::pair<int64_t, uint32_t>> expiry[2];
    std::vector<std::pair<uint32_t, uint32_t>> touched;  // (slot, rule) changed at an instant
    int64_t max_time = INT64_MIN;
    int64_t watermark = INT64_MIN;
    // The earliest time an event is pending or expires at; false when none.
    auto next_instant = [&](int64_t& t) {
      t = pending.empty() ? INT64_MAX : pending.top().time;
      for (int k = 0; k < 2; ++k)
        if (!expiry[k].empty()) t = std::min(t, expiry[k].front().first);
      return !pending.empty() || !expiry[0].empty() || !expiry[1].empty();
    };
    // Applies every instant up to `until`.
    auto advance = [&](int64_t until) {
      for (int64_t now = 0; next_instant(now) && now <= until;) {
        touched.clear();
        for (uint32_t k = 0; k < 2; ++k)
          while (!expiry[k].empty() && expiry[k].front().first == now) {
            --profiles[expiry[k].front().second].count[k];
            touched.emplace_back(expiry[k].front().second, k);
            expiry[k].pop_front();
          }
        while (!pending.empty() && pending.top().time == now) {
          const Pending e = pending.top();
          pending.pop();
          ++profiles[e.slot].count[e.rule];
          const int64_t window = rules[e.rule].window;
          expiry[e.rule].emplace_back(now > INT64_MAX - window ? INT64_MAX : now + window, e.slot);
          touched.emplace_back(e.slot, e.rule);
        }
        for (const auto& [slot, k] : touched) {
          Profile& p = profiles[slot];
          const bool above = p.count[k] > rules[k].threshold;
          if (above != p.inside[k]) {
            p.inside[k] = above;
            ++results;
          }
        }
      }
    };
    for (const BatchPtr& b : batches)
      for (const Record& r : b->records()) {
        if (r.event_time > max_time) {
          max_time = r.event_time;
          const int64_t wm = max_time - 5000 - 1;
          if (wm > watermark) advance(watermark = wm);
        }
        for (uint32_t k = 0; k < 2; ++k) {
          if (r.event != rules[k].event) continue;
          if (r.event_time <= watermark) continue;  // late: not counted, as by the operator
          uint32_t& slot = slot_of[r.key];
          if (slot == 0) {
            profiles.emplace_back();
            slot = static_cast<uint32_t>(profiles.size());
          }
          pending.push({r.event_time, slot - 1, k});
        }
      }
    advance(INT64_MAX);
  }
  state.counters["results"] = static_cast<double>(results);
}
BENCHMARK(LimitRetailLoop)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace segflow

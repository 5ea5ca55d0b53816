// Keyed tumbling count + sum (`type: window`) through the engine at parallelism 2, against
// the same aggregation as a single-threaded tight loop over a hash map (the limit the
// engine's overhead is measured against). Events are pre-generated in memory, in time
// order, 1 ms apart; windows are 10 minutes; keys "user-<i>" round-robin. The engine's
// source hands each pre-built batch on as it is (Output::forward_all: no copy per record),
// as the loop reads them in place.
// WindowEngineShuffleOnly is the same graph with an operator that drops every record: the
// engine's own cost (source, hash partitioning, channels) without the window.
// WindowEngineCombine: `combine: true`, the window's combiner (window_combiner.h) inserted
// before the hash edge by LogicalGraph::insert_combiners, as the runner does.
//   build/release/bench/segflow_bench --benchmark_filter=Window --benchmark_repetitions=3
// RollingStateBytesPerProfile: heap bytes per profile of a `rolling` operator with 5 traits;
// RollingOperatorDirect: that operator's events/s, driven directly.
//   build/release/bench/segflow_bench --benchmark_filter=Rolling
// Peak memory: run one benchmark per process and read "Maximum resident set size" from
//   /usr/bin/time -v build/release/bench/segflow_bench --benchmark_filter='WindowEngine/1000$'
#include <benchmark/benchmark.h>

#include <malloc.h>
#include <time.h>

#include <atomic>

#include <boost/unordered/unordered_flat_map.hpp>

#include "bench/memory_source.h"
#include "engine/executor.h"
#include "engine/string_hash.h"
#include "operators/window/rolling_aggregate.h"
#include "operators/window/window_aggregate.h"

namespace segflow {
namespace {

using bench::MemorySource;

constexpr size_t kEvents = 2'000'000;
constexpr size_t kBatch = 512;
constexpr int64_t kWindowMs = 600'000;

// The events, pre-built into batches once per key count; never destroyed: pooled batches
// must not outlive the batch pool, a static of the engine that may be torn down first.
const std::vector<BatchPtr>& events(size_t keys) {
  static std::map<size_t, std::vector<BatchPtr>>& cache =
      *new std::map<size_t, std::vector<BatchPtr>>;
  auto& batches = cache[keys];
  if (!batches.empty()) return batches;
  const SymbolId event = intern("Order Completed");
  const SymbolId price = intern("properties.price");
  for (size_t i = 0; i < kEvents; ++i) {
    if (i % kBatch == 0) batches.push_back(BatchPtr(new Batch));
    const std::string key = "user-" + std::to_string(i % keys);
    batches.back()
        ->add(EventKind::kTrack, key, static_cast<int64_t>(i), event)
        .set(price, Value::real(static_cast<double>(i % 100) + 0.5));
  }
  return batches;
}

std::atomic<uint64_t> g_results{0};

// CPU time of the whole process (all threads), ns.
double process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// The engine alone: a keyed operator that drops every record (the same shuffle, no window).
class DropAll final : public Operator {
 public:
  static constexpr bool kKeyed = true;
  void process(const Batch&, Output&) override {}
};

class CountingSink final : public Operator {
 public:
  void process(const Batch& in, Output&) override { g_results += in.size(); }
};

const WindowConfig& tumbling_count_sum(bool combine) {
  static const auto parse = [](bool c) {
    return WindowConfig::parse(
        ConfigNode(YAML::Load(std::string("window: {kind: tumbling, size: 10m}\n"
                                          "aggregates: [{name: n, fn: count}, "
                                          "{name: s, fn: sum, property: properties.price}]\n"
                                          "combine: ") +
                              (c ? "true" : "false")),
                   std::make_shared<const std::string>("bench"), ""));
  };
  static const WindowConfig plain = parse(false);
  static const WindowConfig combined = parse(true);
  return combine ? combined : plain;
}

enum class Mode { kShuffleOnly, kWindow, kCombine };

void run_engine(benchmark::State& state, Mode mode) {
  const auto keys = static_cast<size_t>(state.range(0));
  const auto& batches = events(keys);
  static DeadLetterOutput dead_letters;
  double cpu_ns = 0;
  for (auto _ : state) {
    const double cpu_before = process_cpu_ns();
    g_results = 0;
    LogicalGraph g;
    LogicalNode src;
    src.id = "src";
    src.parallelism = 2;
    src.make_source = [&] { return std::make_unique<MemorySource>(batches); };
    g.add(src);
    LogicalNode win;
    win.id = "w";
    win.parallelism = 2;
    win.inputs = {{"src", Partitioning::kHash}};
    win.make_operator = [mode]() -> std::unique_ptr<Operator> {
      if (mode == Mode::kShuffleOnly) return std::make_unique<DropAll>();
      return std::make_unique<WindowAggregate>(tumbling_count_sum(mode == Mode::kCombine));
    };
    if (mode == Mode::kCombine)
      win.make_combiner = [] { return std::make_unique<WindowCombiner>(tumbling_count_sum(true)); };
    g.add(win);
    LogicalNode sink;
    sink.id = "sink";
    sink.parallelism = 2;
    sink.inputs = {{"w", Partitioning::kForward}};
    sink.make_operator = [] { return std::make_unique<CountingSink>(); };
    g.add(sink);
    g.insert_combiners();
    g.validate();
    JobSettings s;
    s.parallelism = 2;
    Executor e(g, s, {&SystemClock::instance(), &dead_letters});
    e.run();
    cpu_ns += process_cpu_ns() - cpu_before;
  }
  state.counters["windows_out"] = static_cast<double>(g_results.load());
  // CPU of all threads per event: against WindowTightLoop's CPU column / 2M, it says how the
  // engine would compare on an otherwise idle machine (this one is shared).
  state.counters["cpu_ns_per_event"] = cpu_ns / static_cast<double>(state.iterations() * kEvents);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kEvents));
}
void WindowEngine(benchmark::State& state) { run_engine(state, Mode::kWindow); }
void WindowEngineShuffleOnly(benchmark::State& state) { run_engine(state, Mode::kShuffleOnly); }
void WindowEngineCombine(benchmark::State& state) { run_engine(state, Mode::kCombine); }
BENCHMARK(WindowEngineShuffleOnly)
    ->Arg(1000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(WindowEngine)->Arg(1000)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(WindowEngineCombine)
    ->Arg(1000)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The same tumbling count + sum in one thread: a hash map from key to the open window's
// accumulator; a window is emitted (counted) when an event of a later window arrives for
// the key, and all remaining at the end.
void WindowTightLoop(benchmark::State& state) {
  const auto keys = static_cast<size_t>(state.range(0));
  const auto& batches = events(keys);
  const SymbolId price = intern("properties.price");
  struct Acc {
    int64_t start = 0;
    uint64_t count = 0;
    double sum = 0;
  };
  uint64_t results = 0;
  double cpu_ns = 0;
  for (auto _ : state) {
    const double cpu_before = process_cpu_ns();
    boost::unordered_flat_map<std::string, Acc, StringHash, StringEq> open;
    results = 0;
    double checksum = 0;
    for (const BatchPtr& b : batches) {
      for (const Record& r : b->records()) {
        const int64_t start = r.event_time / kWindowMs * kWindowMs;
        auto it = open.find(r.key);
        if (it == open.end()) it = open.emplace(std::string(r.key), Acc{start, 0, 0}).first;
        Acc& a = it->second;
        if (a.start != start) {
          checksum += a.sum;
          ++results;
          a = Acc{start, 0, 0};
        }
        ++a.count;
        if (const Value* v = b->find(r, price)) a.sum += v->as_double();
      }
    }
    for (auto& [k, a] : open) {
      checksum += a.sum;
      ++results;
    }
    benchmark::DoNotOptimize(checksum);
    cpu_ns += process_cpu_ns() - cpu_before;
  }
  state.counters["windows_out"] = static_cast<double>(results);
  state.counters["cpu_ns_per_event"] = cpu_ns / static_cast<double>(state.iterations() * kEvents);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kEvents));
}
BENCHMARK(WindowTightLoop)->Arg(1000)->Arg(1'000'000)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace segflow

namespace segflow {
namespace {

// Bytes allocated from the heap: small chunks plus mmapped large ones (big hash tables).
size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// 5 traits over one property: count, and sum/min/max/avg of the price; `window`: e.g. "1d".
const RollingAggregate::Config& five_traits(const std::string& window) {
  static std::map<std::string, RollingAggregate::Config>& configs =
      *new std::map<std::string, RollingAggregate::Config>;
  auto it = configs.find(window);
  if (it == configs.end())
    it = configs
             .emplace(window, RollingAggregate::Config::parse(ConfigNode(
                                  YAML::Load("window: " + window +
                                             "\ntraits: [{name: n, fn: count}, "
                                             "{name: s, fn: sum, property: properties.price}, "
                                             "{name: lo, fn: min, property: properties.price}, "
                                             "{name: hi, fn: max, property: properties.price}, "
                                             "{name: a, fn: avg, property: properties.price}]"),
                                  std::make_shared<const std::string>("bench"), "")))
             .first;
  return it->second;
}

// Heap bytes per profile of a `rolling` operator with 5 traits (count, and sum/min/max/avg of
// one property), with `range(0)` events of each of 100,000 profiles in its window (mallinfo2
// before and after: the keyed state, the operator's own structures, the engine's timers,
// malloc's chunk overhead).
// range(1) == 0, "aligned": every profile's events at the same times (1000, 1001, ...), price
// 9.5, all buffered before one watermark applies them (every profile is due at one time).
// range(1) == 1, "streaming": each profile's own times (event e of profile p at
// 1000 + e * 100,000 + p ms), prices with cents that differ per event, and the watermark
// following the stream (1 s behind, timers fired after every batch), so the timer index
// carries what a live job's does.
void RollingStateBytesPerProfile(benchmark::State& state) {
  const auto events_per_profile = static_cast<size_t>(state.range(0));
  const bool streaming = state.range(1) != 0;
  constexpr size_t kProfiles = 100'000;
  const RollingAggregate::Config& config = five_traits("1d");
  const SymbolId event = intern("Order Completed");
  const SymbolId price = intern("properties.price");
  double bytes = 0;
  for (auto _ : state) {
    TimerService timers;
    OperatorContext ctx;
    ctx.operator_id = "rolling";
    ctx.key_groups = {0, 128};
    ctx.timers = &timers;
    Output out([](BatchPtr&) {}, 512);
    Batch batch;
    const size_t before = heap_in_use();
    {
      RollingAggregate op(config);
      op.open(ctx);
      int64_t last = 0;
      const auto fire = [&](int64_t watermark) {
        if (watermark <= ctx.watermark) return;
        ctx.watermark = watermark;
        Timer t;
        while (timers.pop_due(TimeDomain::kEventTime, ctx.watermark, t)) op.on_timer(t, out);
        op.on_watermark(watermark, out);
      };
      for (size_t e = 0; e < events_per_profile; ++e) {
        for (size_t p = 0; p < kProfiles; ++p) {
          if (batch.size() == 512) {
            op.process(batch, out);
            batch.clear();
            if (streaming) fire(last - 1000);
          }
          last = streaming ? static_cast<int64_t>(1000 + e * kProfiles + p)
                           : static_cast<int64_t>(1000 + e);
          const double v =
              streaming ? static_cast<double>((p * 7919 + e * 104'729) % 100'000) / 100.0 : 9.5;
          batch.add(EventKind::kTrack, "user-" + std::to_string(p), last, event)
              .set(price, Value::real(v));
        }
      }
      op.process(batch, out);
      batch.clear();
      fire(last);  // all applied, none aged out
      bytes = static_cast<double>(heap_in_use() - before) / kProfiles;
      if (op.tracked_profiles() != kProfiles) state.SkipWithError("profiles lost");
    }
  }
  state.counters["bytes_per_profile"] = bytes;
}
BENCHMARK(RollingStateBytesPerProfile)
    ->ArgsProduct({{1, 10, 50}, {0, 1}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// Throughput of one `rolling` operator driven directly (no engine), 5 traits as above:
// 2,000,000 events 1 ms apart over 10,000 profiles round-robin (one event per profile every
// 10 s), prices with cents, the watermark 1 s behind after every batch of 512, timers fired;
// window range(0) minutes (6 or 60 events per profile in the window). Every event enters and
// later ages out of its window, each a change record.
void RollingOperatorDirect(benchmark::State& state) {
  const RollingAggregate::Config& config = five_traits(std::to_string(state.range(0)) + "m");
  constexpr size_t kEventsTotal = 2'000'000;
  constexpr size_t kProfiles = 10'000;
  static const std::vector<BatchPtr>& batches = *[] {
    auto* b = new std::vector<BatchPtr>;
    const SymbolId event = intern("Order Completed");
    const SymbolId price = intern("properties.price");
    for (size_t i = 0; i < kEventsTotal; ++i) {
      if (i % 512 == 0) b->push_back(BatchPtr(new Batch));
      b->back()
          ->add(EventKind::kTrack, "user-" + std::to_string(i % kProfiles), static_cast<int64_t>(i),
                event)
          .set(price, Value::real(static_cast<double>((i * 7919) % 100'000) / 100.0));
    }
    return b;
  }();
  uint64_t records = 0;
  for (auto _ : state) {
    TimerService timers;
    OperatorContext ctx;
    ctx.operator_id = "rolling";
    ctx.key_groups = {0, 128};
    ctx.timers = &timers;
    Output out([&](BatchPtr& b) { records += b->size(); }, 512);
    RollingAggregate op(config);
    op.open(ctx);
    const auto fire = [&](int64_t watermark) {
      if (watermark <= ctx.watermark) return;
      ctx.watermark = watermark;
      Timer t;
      while (timers.pop_due(TimeDomain::kEventTime, ctx.watermark, t)) op.on_timer(t, out);
      op.on_watermark(watermark, out);
    };
    for (const BatchPtr& b : batches) {
      op.process(*b, out);
      fire(b->records().back().event_time - 1000);
    }
    fire(kMaxTime);
    out.flush();
  }
  state.counters["records_out"] =
      static_cast<double>(records) / static_cast<double>(state.iterations());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kEventsTotal));
}
BENCHMARK(RollingOperatorDirect)->Arg(1)->Arg(10)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace segflow

namespace segflow {
namespace {

// One `window` operator driven directly (no engine), count + sum, watermark after every batch.
// range(0): tumbling 10m (0) or sliding 10m/1s (1: every key has an event in each of its 600
// panes, and fires a window per slide). range(1): keys; 1,000 keys: 1,000,000 events 1 ms
// apart (one event per key per second); 1,000,000 keys: the 2,000,000 events of WindowEngine
// (the operator's share of that benchmark, in one thread).
void WindowOperatorDirect(benchmark::State& state) {
  const bool sliding = state.range(0) != 0;
  static const auto parse = [](const char* window) {
    return WindowConfig::parse(
        ConfigNode(YAML::Load(std::string("window: ") + window +
                              "\naggregates: [{name: n, fn: count}, "
                              "{name: s, fn: sum, property: properties.price}]"),
                   std::make_shared<const std::string>("bench"), ""));
  };
  static const WindowConfig tumbling = parse("{kind: tumbling, size: 10m}");
  static const WindowConfig slide = parse("{kind: sliding, size: 10m, slide: 1s}");
  const auto keys = static_cast<size_t>(state.range(1));
  const auto& batches = events(keys);
  const size_t direct_events = keys <= 1000 ? 1'000'000 : kEvents;
  uint64_t windows = 0;
  double bytes_per_key = 0;
  for (auto _ : state) {
    const size_t heap_before = heap_in_use();
    TimerService timers;
    OperatorContext ctx;
    ctx.operator_id = "w";
    ctx.key_groups = {0, 128};
    ctx.timers = &timers;
    windows = 0;
    Output out([&](BatchPtr& b) { windows += b->size(); }, 512);
    WindowAggregate op(sliding ? slide : tumbling);
    op.open(ctx);
    for (size_t i = 0; i * kBatch < direct_events; ++i) {
      op.process(*batches[i], out);
      ctx.watermark = batches[i]->records().back().event_time;
      Timer t;
      while (timers.pop_due(TimeDomain::kEventTime, ctx.watermark, t)) op.on_timer(t, out);
    }
    // Heap per profile with state before the end of input (the state table, its panes).
    bytes_per_key = static_cast<double>(heap_in_use() - heap_before) /
                    static_cast<double>(std::max<size_t>(1, op.tracked_profiles()));
    ctx.watermark = kMaxTime;
    Timer t;
    while (timers.pop_due(TimeDomain::kEventTime, ctx.watermark, t)) op.on_timer(t, out);
    out.flush();
  }
  state.counters["windows_out"] = static_cast<double>(windows);
  state.counters["bytes_per_key"] = bytes_per_key;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * direct_events));
}
BENCHMARK(WindowOperatorDirect)
    ->Args({0, 1000})
    ->Args({1, 1000})
    ->Args({0, 1'000'000})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segflow

namespace segflow {
namespace {

// The window's combiner (combine: true) driven directly in one thread over the 2M events
// of WindowEngine, watermark after every batch: its folding cost per event, to set against
// WindowTightLoop (the combiner runs once per upstream subtask, before the shuffle).
void WindowCombinerDirect(benchmark::State& state) {
  const auto keys = static_cast<size_t>(state.range(0));
  const auto& batches = events(keys);
  uint64_t partials = 0;
  for (auto _ : state) {
    TimerService timers;
    OperatorContext ctx;
    ctx.operator_id = "w.combine";
    ctx.timers = &timers;
    partials = 0;
    Output out([&](BatchPtr& b) { partials += b->size(); }, kBatch);
    WindowCombiner op(tumbling_count_sum(true));
    op.open(ctx);
    for (const BatchPtr& b : batches) {
      op.process(*b, out);
      ctx.watermark = b->records().back().event_time;
      op.on_watermark(ctx.watermark, out);
    }
    ctx.watermark = kMaxTime;
    op.on_watermark(kMaxTime, out);
    out.flush();
  }
  state.counters["records_out"] = static_cast<double>(partials);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kEvents));
}
BENCHMARK(WindowCombinerDirect)->Arg(1000)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segflow

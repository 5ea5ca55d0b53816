// Bytes of state per profile of the retail job: the `segments` operator of jobs/retail.yaml
// (all its segments, read from the job file) driven directly on one thread over the
// `generator` source's events (seed 42, 3 s of disorder, as the job), with the job's 5 s
// watermark bound. Heap bytes in use (mmapped blocks included) before the operator is made
// and after the last event, timers included, divided by the profiles it holds.
// Counters also give the engine timers pending then per profile (the operator queues its
// profiles' instants itself, behind one engine timer), and the engine timer firings per event up
// to then (`firings_per_event`) and with the input's end (the watermark to the end of time,
// as when a job's input ends: `firings_per_event_ended`).
// range(0): simulated users; range(1): events per user (a light and a heavier history).
//   build/release/bench/segflow_bench --benchmark_filter=RetailStateBytesPerProfile
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "connectors/generator/generator_source.h"
#include "engine/timer_service.h"
#include "operators/segment/segments_operator.h"

namespace segflow {
namespace {

// Bytes allocated from the heap: small chunks plus mmapped large ones (big hash tables).
size_t heap_in_use() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

constexpr int64_t kOutOfOrdernessMs = 5000;  // jobs/retail.yaml's watermarks.out_of_orderness

// The `segments` operator's settings in jobs/retail.yaml.
SegmentsOperator::Config retail_segments() {
  const std::string path = std::string(SEGFLOW_SOURCE_DIR) + "/jobs/retail.yaml";
  const auto file = std::make_shared<const std::string>(path);
  ConfigNode job(YAML::LoadFile(path), file, "");
  for (const ConfigNode& op : job.list("operators")) {
    if (op.string("type") != "segments") continue;
    op.string("id");
    op.strings("input");
    return SegmentsOperator::Config::parse(op);
  }
  throw std::runtime_error(path + ": no operator of type segments");
}

std::vector<BatchPtr> generate(uint64_t users, uint64_t events) {
  GeneratorSource source(GeneratorSource::Config::parse(
      ConfigNode(YAML::Load("{seed: 42, out_of_order: 3s, users: " + std::to_string(users) +
                            ", events: " + std::to_string(events) + "}"),
                 std::make_shared<const std::string>("bench"), "")));
  std::vector<BatchPtr> batches;
  OperatorContext ctx;
  source.open(ctx);
  Output out([&](BatchPtr& b) { batches.push_back(std::move(b)); }, 512);
  while (source.poll(out) == SourceStatus::kMore) {
  }
  out.flush();
  return batches;
}

// Sets the watermark to `watermark`, firing the due timers before on_watermark; returns how
// many fired.
uint64_t advance(SegmentsOperator& op, OperatorContext& ctx, TimerService& timers,
                 int64_t watermark, Output& out) {
  ctx.watermark = watermark;
  uint64_t fired = 0;
  Timer t;
  while (timers.pop_due(TimeDomain::kEventTime, watermark, t)) {
    op.on_timer(t, out);
    ++fired;
  }
  op.on_watermark(watermark, out);
  return fired;
}

// Runs `batches` through `op` as the job would: watermark 5 s behind the largest event time,
// due timers fired before on_watermark. Returns how many timers fired.
uint64_t drive(SegmentsOperator& op, OperatorContext& ctx, TimerService& timers,
               const std::vector<BatchPtr>& batches, Output& out) {
  int64_t max_time = INT64_MIN;
  uint64_t fired = 0;
  for (const BatchPtr& b : batches) {
    op.process(*b, out);
    for (const Record& r : b->records()) max_time = std::max(max_time, r.event_time);
    fired += advance(op, ctx, timers, max_time - kOutOfOrdernessMs, out);
  }
  out.flush();
  return fired;
}

void RetailStateBytesPerProfile(benchmark::State& state) {
  const auto users = static_cast<uint64_t>(state.range(0));
  const auto events = users * static_cast<uint64_t>(state.range(1));
  const SegmentsOperator::Config config = retail_segments();
  const std::vector<BatchPtr> batches = generate(users, events);
  double bytes = 0, profiles = 0, timers_pending = 0, fired = 0, fired_ended = 0;
  for (auto _ : state) {
    TimerService timers;
    OperatorContext ctx;
    ctx.operator_id = "segments";
    ctx.key_groups = KeyGroupRange::for_subtask(0, ctx.max_parallelism, 1);
    ctx.timers = &timers;
    Output out([](BatchPtr&) {}, 512);
    const size_t before = heap_in_use();
    {
      SegmentsOperator op(config);
      op.open(ctx);
      fired = static_cast<double>(drive(op, ctx, timers, batches, out));
      profiles = static_cast<double>(op.tracked_profiles());
      bytes = static_cast<double>(heap_in_use() - before) / profiles;
      timers_pending = static_cast<double>(timers.size());
      fired_ended = fired + static_cast<double>(advance(op, ctx, timers, kMaxTime, out));
      out.flush();
    }
  }
  state.counters["bytes_per_profile"] = bytes;
  state.counters["timers_per_profile"] = timers_pending / profiles;
  state.counters["firings_per_event"] = fired / static_cast<double>(events);
  state.counters["firings_per_event_ended"] = fired_ended / static_cast<double>(events);
  state.counters["profiles"] = profiles;
  state.counters["events"] = static_cast<double>(events);
}
BENCHMARK(RetailStateBytesPerProfile)
    ->Args({50'000, 5})
    ->Args({10'000, 50})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// What a checkpoint costs per profile of the retail state: the segments operator's keyed
// state written by the deferred snapshot function (the same bytes as snapshot()) and its
// timers, then both restored into a fresh operator (the recovery path). items/s: profiles
// per second written; counters: checkpoint bytes per profile, restore ns per profile.
//   build/release/bench/segflow_bench --benchmark_filter=RetailSnapshot
void RetailSnapshot(benchmark::State& state) {
  const auto users = static_cast<uint64_t>(state.range(0));
  const SegmentsOperator::Config config = retail_segments();
  const std::vector<BatchPtr> batches = generate(users, users * 5);
  TimerService timers;
  OperatorContext ctx;
  ctx.operator_id = "segments";
  ctx.key_groups = KeyGroupRange::for_subtask(0, ctx.max_parallelism, 1);
  ctx.timers = &timers;
  Output out([](BatchPtr&) {}, 512);
  SegmentsOperator op(config);
  op.open(ctx);
  drive(op, ctx, timers, batches, out);
  const auto profiles = static_cast<double>(op.tracked_profiles());
  StateWriter w;
  StateWriter timer_bytes;
  for (auto _ : state) {
    w = StateWriter();
    timer_bytes = StateWriter();
    op.snapshot_async(w)(w);
    timers.snapshot(timer_bytes);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * profiles));
  state.counters["bytes_per_profile"] =
      static_cast<double>(w.size() + timer_bytes.size()) / profiles;
  TimerService restored_timers;
  OperatorContext restored_ctx = ctx;
  restored_ctx.timers = &restored_timers;
  restored_ctx.restoring = true;
  SegmentsOperator restored(config);
  restored.open(restored_ctx);
  const auto started = std::chrono::steady_clock::now();
  StateReader r(w.data());
  restored.restore(r);
  StateReader t(timer_bytes.data());
  restored_timers.restore(t);
  state.counters["restore_ns_per_profile"] =
      std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - started).count() /
      profiles;
  if (restored.tracked_profiles() != op.tracked_profiles())
    state.SkipWithError("restore lost profiles");
}
BENCHMARK(RetailSnapshot)->Arg(200'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segflow

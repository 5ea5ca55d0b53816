// jobs/retail.yaml end to end from decoded events (issue 9's segmentation target: 1M
// events/s on 2 cores): its generator's events are produced once, before any timing, and
// replayed from memory through the job's own graph (the spec loaded with load_job_spec, as
// `segflow run` does) into a counting sink. The `segflow run` figure of bench/run.sh also
// pays for generating the events; this one does not, as with events decoded upstream.
//   build/release/bench/segflow_bench --benchmark_filter=RetailPipeline --benchmark_repetitions=3
// Events: SEGFLOW_RETAIL_EVENTS (default 3,000,000) of 1,000,000 simulated users.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "bench/memory_source.h"
#include "engine/dead_letter.h"
#include "engine/executor.h"
#include "runner/job_spec.h"

namespace segflow {
namespace {

constexpr const char* kUsers = "1000000";

size_t retail_events() {
  const char* env = std::getenv("SEGFLOW_RETAIL_EVENTS");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : 3'000'000;
}

JobSpec retail_spec(uint32_t parallelism) {
  return load_job_spec(
      std::string(SEGFLOW_SOURCE_DIR) + "/jobs/retail.yaml",
      {"parallelism=" + std::to_string(parallelism), std::string("sources.events.users=") + kUsers,
       "sources.events.events=" + std::to_string(retail_events())});
}

// The job's generator output, generated once (never destroyed: pooled batches must not
// outlive the engine's batch pool at exit).
const std::vector<BatchPtr>& retail_events_in_memory() {
  static const std::vector<BatchPtr>& batches = *new std::vector<BatchPtr>([] {
    const JobSpec spec = retail_spec(1);
    const LogicalNode& source = spec.graph.nodes()[spec.graph.find("events")];
    return bench::pregenerate(*source.make_source(), spec.settings.batch_size);
  }());
  return batches;
}

// CPU time of the whole process (every engine thread), ns.
int64_t process_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

std::atomic<uint64_t> g_changes{0};

class CountingSink final : public Operator {
 public:
  void process(const Batch& in, Output&) override { g_changes += in.size(); }
};

// The spec's graph with its source replaying `batches` and its sink counting.
LogicalGraph replaying_graph(const JobSpec& spec, const std::vector<BatchPtr>& batches) {
  LogicalGraph g;
  for (LogicalNode node : spec.graph.nodes()) {
    if (node.id == "events")
      node.make_source = [&batches] { return std::make_unique<bench::MemorySource>(batches); };
    else if (node.id == "segment_changes")
      node.make_operator = [] { return std::make_unique<CountingSink>(); };
    g.add(std::move(node));
  }
  g.validate();
  return g;
}

void RetailPipelineFromMemory(benchmark::State& state) {
  const auto parallelism = static_cast<uint32_t>(state.range(0));
  const std::vector<BatchPtr>& batches = retail_events_in_memory();
  const JobSpec spec = retail_spec(parallelism);
  static DeadLetterOutput dead_letters;
  size_t events = 0;
  for (const BatchPtr& b : batches) events += b->size();
  const int64_t cpu_started = process_cpu_ns();
  for (auto _ : state) {
    g_changes = 0;
    const LogicalGraph g = replaying_graph(spec, batches);
    Executor e(g, spec.settings, {&SystemClock::instance(), &dead_letters});
    e.run();
  }
  state.counters["changes"] = static_cast<double>(g_changes.load());
  // All threads' CPU time per event: on a loaded machine a steadier figure than events/s.
  state.counters["cpu_ns_per_event"] = static_cast<double>(process_cpu_ns() - cpu_started) /
                                       static_cast<double>(state.iterations() * events);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events));
}
BENCHMARK(RetailPipelineFromMemory)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace
}  // namespace segflow

// Identity resolution (operators/identity): lookups per second in a graph of N identifiers,
// and heap bytes per identifier (mallinfo2 before and after building it), for N = 100,000
// and 10,000,000 (and 10,000,000 with per-day limits on two types, which keep link times); and the
// identity operator on whole events (3 identifiers each, a mix of known people, new visitors and
// logins that merge), events per second on one thread.
//   build/release/bench/segflow_bench --benchmark_filter=Identity --benchmark_repetitions=3 \
//     --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "operators/identity/identity_resolver.h"

namespace segflow {
namespace {

std::string id_value(const char* prefix, uint64_t n) { return prefix + std::to_string(n); }

// A graph of `identifiers` identifiers: one profile per person with a userId, an email,
// an anonymousId and a device id.
struct BuiltGraph {
  std::unique_ptr<IdentityGraph> graph;
  double bytes_per_identifier = 0;
};

// `scoped`: the anonymous id and device id limits count per day (link times kept).
const BuiltGraph& graph_of(size_t identifiers, bool scoped) {
  static std::map<std::pair<size_t, bool>, BuiltGraph> cache;
  BuiltGraph& built = cache[{identifiers, scoped}];
  if (built.graph) return built;
  malloc_trim(0);
  const size_t before = mallinfo2().uordblks + mallinfo2().hblkhd;
  const int64_t day = scoped ? 86'400'000 : 0;
  built.graph = std::make_unique<IdentityGraph>(
      std::vector<IdentifierLimit>{{1, 0}, {5, 0}, {5, day}, {5, day}}, 100);
  IdentityGraph::Resolution resolution;
  std::string values[4];
  for (uint64_t person = 0; person < identifiers / 4; ++person) {
    values[0] = id_value("user-", person);
    values[1] = id_value("someone", person) + "@example.com";
    values[2] = id_value("0f8e6a34-1b7c-4c1d-9e2f-", person);
    values[3] = id_value("device-5d2c9b1e-", person);
    const IdentifierRef ids[4] = {{0, values[0]}, {1, values[1]}, {2, values[2]}, {3, values[3]}};
    built.graph->resolve(ids, 0, resolution);
  }
  built.bytes_per_identifier =
      static_cast<double>(mallinfo2().uordblks + mallinfo2().hblkhd - before) /
      static_cast<double>(identifiers);
  return built;
}

void IdentityLookup(benchmark::State& state) {
  const auto identifiers = static_cast<size_t>(state.range(0));
  const BuiltGraph& built = graph_of(identifiers, state.range(1) != 0);
  std::mt19937_64 rng(7);
  std::vector<std::string> queries;
  for (int i = 0; i < 4096; ++i) queries.push_back(id_value("user-", rng() % (identifiers / 4)));
  size_t found = 0, i = 0;
  for (auto _ : state) {
    IdentityGraph::ProfileId p = 0;
    found += built.graph->lookup({0, queries[i++ & 4095]}, p);
    benchmark::DoNotOptimize(p);
  }
  if (found != static_cast<size_t>(state.iterations())) state.SkipWithError("lookup missed");
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_identifier"] = built.bytes_per_identifier;
  state.counters["table_bytes_per_identifier"] =
      static_cast<double>(built.graph->memory_bytes()) / static_cast<double>(identifiers);
}
// Args: identifiers, scoped limits (0/1).
BENCHMARK(IdentityLookup)
    ->Args({100'000, 0})
    ->Args({10'000'000, 0})
    ->Args({10'000'000, 1})
    ->Unit(benchmark::kNanosecond);

// Events of 1,000,000 people over several devices: userId when logged in (a third of the
// events), always anonymousId and device id. Pre-built batches of 512.
const std::vector<std::unique_ptr<Batch>>& identity_events() {
  static std::vector<std::unique_ptr<Batch>> batches;
  if (!batches.empty()) return batches;
  std::mt19937_64 rng(11);
  const SymbolId viewed = intern("Product Viewed");
  const SymbolId user = intern("userId"), anon = intern("anonymousId"),
                 device = intern("context.device.id");
  for (size_t i = 0; i < 1'000'000; ++i) {
    if (i % 512 == 0) batches.push_back(std::make_unique<Batch>());
    const uint64_t person = rng() % 1'000'000, dev = rng() % 3;
    const std::string d = id_value("device-", person * 3 + dev);
    RecordBuilder b = batches.back()->add(EventKind::kTrack, "k", static_cast<int64_t>(i), viewed);
    if (rng() % 3 == 0) b.set(user, Value::string(id_value("user-", person)));
    b.set(anon, Value::string("anon-" + d)).set(device, Value::string(d));
  }
  return batches;
}

void IdentityOperatorEvents(benchmark::State& state) {
  const auto& batches = identity_events();
  const IdentityRules rules = IdentityRules::parse(
      ConfigNode(YAML::Load("{}"), std::make_shared<const std::string>(""), ""));
  size_t events = 0;
  for (auto _ : state) {
    state.PauseTiming();
    IdentityResolver op(rules);
    OperatorContext ctx;
    op.open(ctx);
    Output out([](BatchPtr& b) { b->clear(); }, 512);
    state.ResumeTiming();
    for (const auto& b : batches) op.process(*b, out);
    out.flush();
    events += 512 * batches.size();
    state.counters["merges"] = static_cast<double>(op.merges());
    state.counters["identifiers"] = static_cast<double>(op.graph().identifier_count());
  }
  state.SetItemsProcessed(static_cast<int64_t>(events));
}
BENCHMARK(IdentityOperatorEvents)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segflow

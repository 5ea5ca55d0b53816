// Throughput of the generator source (records per second on one core) and of writing
// records as JSON lines (the stdout / file sinks' encoding).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include <yaml-cpp/yaml.h>

#include "connectors/generator/generator_source.h"
#include "connectors/json/record_json.h"

namespace segflow {
namespace {

GeneratorSource::Config config_of(const std::string& yaml) {
  return GeneratorSource::Config::parse(
      ConfigNode(YAML::Load(yaml), std::make_shared<const std::string>("bench.yaml"), ""));
}

// Records generated per second, for a population of state.range(0) people.
void BM_GeneratorPoll(benchmark::State& state) {
  GeneratorSource source(config_of("users: " + std::to_string(state.range(0)) + "\n"));
  OperatorContext ctx;
  source.open(ctx);
  size_t delivered = 0;
  Output out([&](BatchPtr& batch) { delivered += batch->size(); }, 512);
  for (auto _ : state) source.poll(out);
  out.flush();
  benchmark::DoNotOptimize(delivered);
  state.SetItemsProcessed(static_cast<int64_t>(delivered));
}
BENCHMARK(BM_GeneratorPoll)->Arg(1'000)->Arg(1'000'000);

// Generated records encoded as JSON lines per second.
void BM_RecordJson(benchmark::State& state) {
  GeneratorSource source(config_of("users: 1000\nevents: 512\n"));
  OperatorContext ctx;
  source.open(ctx);
  BatchPtr batch;
  Output out([&](BatchPtr& b) { batch = std::move(b); }, 512);
  source.poll(out);
  out.flush();
  std::string text;
  size_t bytes = 0;
  for (auto _ : state) {
    text.clear();
    for (const Record& r : batch->records()) {
      append_record_json(text, *batch, r);
      text += '\n';
    }
    bytes += text.size();
    benchmark::DoNotOptimize(text.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch->size()));
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_RecordJson);

}  // namespace
}  // namespace segflow

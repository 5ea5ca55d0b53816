// Micro-benchmarks of the engine's hot paths: batch building and copying, key-group
// hashing, keyed state, and a channel between two threads.
//   build/release/bench/segflow_bench --benchmark_filter=Engine --benchmark_repetitions=5
#include <benchmark/benchmark.h>

#include <thread>

#include "engine/batch.h"
#include "engine/channel.h"
#include "engine/key_group.h"
#include "engine/keyed_state.h"

namespace segflow {
namespace {

std::vector<std::string> make_keys(size_t n) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < n; ++i) keys.push_back("user-" + std::to_string(i * 7919));
  return keys;
}

void EngineBatchBuild(benchmark::State& state) {
  const auto keys = make_keys(1024);
  const SymbolId event = intern("Product Viewed");
  const SymbolId price = intern("properties.price");
  const SymbolId category = intern("properties.category");
  Batch batch;
  for (auto _ : state) {
    batch.clear();
    for (size_t i = 0; i < 512; ++i)
      batch.add(EventKind::kTrack, keys[i], static_cast<int64_t>(i), event)
          .set(price, Value::real(9.99))
          .set(category, Value::string("electronics"));
    benchmark::DoNotOptimize(batch.size());
  }
  state.SetItemsProcessed(state.iterations() * 512);
}
BENCHMARK(EngineBatchBuild);

void EngineKeyGroupHash(benchmark::State& state) {
  const auto keys = make_keys(4096);
  size_t i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(key_group_of(keys[i++ & 4095], 128));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(EngineKeyGroupHash);

void EngineValueStateIncrement(benchmark::State& state) {
  const auto keys = make_keys(static_cast<size_t>(state.range(0)));
  ValueState<int64_t> counts(KeyedStateScope{{0, 128}, 128, &SystemClock::instance()});
  size_t i = 0;
  for (auto _ : state) ++counts.get_or_create(keys[i++ % keys.size()]);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(EngineValueStateIncrement)->Arg(1000)->Arg(100000);

// Batches of 512 records through one channel from a producer thread to this thread.
void EngineChannelThroughput(benchmark::State& state) {
  const SymbolId event = intern("e");
  for (auto _ : state) {
    Wakeup wakeup;
    Channel channel("bench", 64, wakeup);
    constexpr int kBatches = 2000;
    std::thread producer([&] {
      for (int b = 0; b < kBatches; ++b) {
        BatchPtr batch = BatchPool::acquire();
        for (int i = 0; i < 512; ++i) batch->add(EventKind::kTrack, "user", i, event);
        channel.push_batch(std::move(batch));
      }
    });
    int received = 0;
    while (received < kBatches) {
      Element e;
      if (channel.pop(e)) {
        BatchPtr(e.batch);
        ++received;
      } else {
        wakeup.wait_until_ready([&] { return channel.has_data(); }, std::chrono::milliseconds(1));
      }
    }
    producer.join();
  }
  state.SetItemsProcessed(state.iterations() * 2000 * 512);
}
BENCHMARK(EngineChannelThroughput)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace segflow

// Keyed state: values per key, TTL on the manual clock, map and aggregating state, and
// snapshots that a subtask owning other key groups restores only its share of, and
// asynchronous (copy-on-write) snapshots taken while the state changes. Every test
// runs on both state backends: heap, and rocksdb with a 16-entry cache (so most tests
// evict); tests/engine/cached_value_state_test.cpp has the rocksdb-only ones.
#include "engine/keyed_state.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "engine/rocksdb_state_store.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

enum class Backend { kHeap, kRocksDb };

class KeyedStateTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kHeap) return;
#if SEGFLOW_HAVE_ROCKSDB
    store_ = make_rocksdb_state_store(dir_.file("state"), /*cache_entries=*/16,
                                      /*incremental=*/false);
#else
    SEGFLOW_SKIP_WITHOUT("RocksDB (librocksdb-dev) not built in: no rocksdb state backend");
#endif
  }
  KeyedStateScope scope_for(uint32_t subtask, uint32_t parallelism, const Clock& clock) {
    return {KeyGroupRange::for_subtask(subtask, 128, parallelism), 128, &clock, store_.get()};
  }

  testing::TempDir dir_;
  std::unique_ptr<KeyedStateStore> store_;  // rocksdb; null: heap
};

INSTANTIATE_TEST_SUITE_P(Backends, KeyedStateTest,
                         ::testing::Values(Backend::kHeap, Backend::kRocksDb),
                         [](const auto& info) {
                           return info.param == Backend::kHeap ? "Heap" : "RocksDb";
                         });

TEST_P(KeyedStateTest, GetPutTakeErase) {
  ManualClock clock;
  ValueState<int64_t> s(scope_for(0, 1, clock));
  EXPECT_EQ(s.get("a"), nullptr);
  s.put("a", 5);
  ++s.get_or_create("a");
  s.get_or_create("b") = 7;
  ASSERT_NE(s.get("a"), nullptr);
  EXPECT_EQ(*s.get("a"), 6);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.take("b"), 7);
  EXPECT_EQ(s.get("b"), nullptr);
  s.erase("a");
  EXPECT_EQ(s.size(), 0u);
}

// The lookups by a known hash (after prefetch_bucket / prefetch_entry hints) find, miss and
// erase exactly what the plain ones do.
TEST_P(KeyedStateTest, LookupsByKnownHashMatchThePlainOnes) {
  ManualClock clock;
  ValueState<int64_t> s(scope_for(0, 1, clock));
  for (int64_t i = 0; i < 1000; i += 2) s.put("k" + std::to_string(i), i);
  for (int64_t i = 0; i < 1000; ++i) {
    const std::string key = "k" + std::to_string(i);
    const uint64_t hash = hash_key(key);
    s.prefetch_bucket(key, hash);
    s.prefetch_entry(key, hash);
    int64_t* by_hash = s.get(key, hash);
    EXPECT_EQ(by_hash, s.get(key)) << key;
    if (i % 2 == 0) {
      ASSERT_NE(by_hash, nullptr) << key;
      EXPECT_EQ(*by_hash, i);
    }
  }
  for (int64_t i = 0; i < 1000; i += 4) {
    const std::string key = "k" + std::to_string(i);
    s.erase(key, hash_key(key));
    EXPECT_EQ(s.get(key), nullptr) << key;
  }
  EXPECT_EQ(s.size(), 250u);
}

TEST_P(KeyedStateTest, EntriesExpireATtlAfterTheirLastWrite) {
  ManualClock clock(1000);
  ValueState<std::string> s(scope_for(0, 1, clock), /*ttl_ms=*/100);
  s.put("a", "x");
  clock.advance(60);
  s.put("b", "y");
  clock.advance(50);  // a written 110 ms ago, b 50 ms ago
  EXPECT_EQ(s.get("a"), nullptr);
  ASSERT_NE(s.get("b"), nullptr);
  s.get_or_create("b");  // refresh
  clock.advance(90);
  EXPECT_NE(s.get("b"), nullptr);
  clock.advance(20);
  s.sweep_expired();
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.get_or_create("a"), "");  // expired value is not resurrected
}

TEST_P(KeyedStateTest, SnapshotRestoresOnlyTheOwnedKeyGroups) {
  ManualClock clock;
  ValueState<int64_t> whole(scope_for(0, 1, clock));
  for (int i = 0; i < 1000; ++i) whole.put("user" + std::to_string(i), i);
  StateWriter w;
  whole.snapshot(w);

  // Rescale to 3 subtasks: each restores its share; together they hold everything once.
  size_t total = 0;
  for (uint32_t sub = 0; sub < 3; ++sub) {
    ValueState<int64_t> part(scope_for(sub, 3, clock));
    StateReader r(w.data());
    part.restore(r);
    EXPECT_TRUE(r.done());
    total += part.size();
    part.for_each([&](std::string_view key, int64_t& v) {
      EXPECT_EQ(subtask_of_key_group(key_group_of(key, 128), 128, 3), sub);
      EXPECT_EQ("user" + std::to_string(v), key);
    });
  }
  EXPECT_EQ(total, 1000u);
}

TEST_P(KeyedStateTest, ManyMoreKeysThanTheCacheMatchAReferenceMap) {
  ManualClock clock(1000);
  ValueState<std::string> s(scope_for(0, 1, clock), /*ttl_ms=*/500);
  std::map<std::string, std::string> reference;
  std::mt19937_64 rng(3);
  for (int step = 0; step < 20'000; ++step) {
    const std::string key = "k" + std::to_string(rng() % 2000);
    switch (rng() % 5) {
      case 0:
        s.erase(key);
        reference.erase(key);
        break;
      case 1:
        EXPECT_EQ(s.take(key), reference[key]);
        reference.erase(key);
        break;
      case 2: {
        const std::string* v = s.get(key);
        auto it = reference.find(key);
        ASSERT_EQ(v != nullptr, it != reference.end()) << key;
        if (v != nullptr) {
          EXPECT_EQ(*v, it->second);
        }
        break;
      }
      default:
        s.get_or_create(key) += static_cast<char>('a' + step % 26);
        reference[key] += static_cast<char>('a' + step % 26);
    }
  }
  EXPECT_EQ(s.size(), reference.size());
  std::map<std::string, std::string> seen;
  s.for_each([&](std::string_view k, std::string& v) { seen.emplace(k, v); });
  EXPECT_EQ(seen, reference);

  // The snapshot of either backend restores into the heap backend, at another parallelism.
  StateWriter w;
  s.snapshot(w);
  seen.clear();
  for (uint32_t sub = 0; sub < 2; ++sub) {
    ValueState<std::string> part({KeyGroupRange::for_subtask(sub, 128, 2), 128, &clock});
    StateReader r(w.data());
    part.restore(r);
    part.for_each([&](std::string_view k, std::string& v) { seen.emplace(k, v); });
  }
  EXPECT_EQ(seen, reference);
  clock.advance(500);  // everything expires
  s.sweep_expired();
  EXPECT_EQ(s.size(), 0u);
}

// Changes `s` and `reference` alike with every kind of access, at random keys.
void change_at_random(ValueState<std::string>& s, std::map<std::string, std::string>& reference,
                      std::mt19937_64& rng, int steps) {
  for (int step = 0; step < steps; ++step) {
    const std::string key = "k" + std::to_string(rng() % 3000);
    const char c = static_cast<char>('a' + step % 26);
    switch (rng() % 40) {
      case 0:
        s.for_each([&](std::string_view k, std::string& v) {
          v += c;
          reference[std::string(k)] += c;
        });
        break;
      case 1:
        s.update_or_erase([&](std::string_view k, std::string& v) {
          if (v.size() % 3 != 0) return false;
          reference.erase(std::string(k));
          return true;
        });
        break;
      case 2:
      case 3:
      case 4:
        s.erase(key);
        reference.erase(key);
        break;
      case 5:
      case 6:
      case 7:
        ASSERT_EQ(s.take(key), reference[key]);
        reference.erase(key);
        break;
      case 8:
      case 9:
      case 10:
        s.put(key, std::string(1, c));
        reference[key] = std::string(1, c);
        break;
      default:
        if (std::string* v = s.get(key)) {
          *v += c;
          reference[key] += c;
        } else {
          s.get_or_create(key) += c;
          reference[key] += c;
        }
    }
  }
}

std::map<std::string, std::string> contents(ValueState<std::string>& s) {
  std::map<std::string, std::string> out;
  s.for_each([&](std::string_view k, std::string& v) { out.emplace(k, v); });
  return out;
}

std::map<std::string, std::string> restored(const std::string& bytes, const Clock& clock) {
  ValueState<std::string> s({KeyGroupRange::for_subtask(0, 128, 1), 128, &clock});
  StateReader r(bytes);
  s.restore(r);
  EXPECT_TRUE(r.done());
  return contents(s);
}

TEST_P(KeyedStateTest, AsyncSnapshotHoldsTheStateAtTheMark) {
  const int steps = GetParam() == Backend::kHeap ? 1000 : 50;  // rocksdb: slow scans
  ManualClock clock;
  ValueState<std::string> s(scope_for(0, 1, clock));
  std::map<std::string, std::string> reference;
  std::mt19937_64 rng(11);
  for (int round = 0; round < 4; ++round) {
    change_at_random(s, reference, rng, 5 * steps);
    const auto at_mark = reference;
    StateWriter sync;
    s.snapshot(sync);
    StateWriter w;
    w.u64(42);  // what an operator writes at the barrier comes first
    DeferredSnapshot rest = s.snapshot_async();
    ASSERT_TRUE(rest);
    // Later rounds write part of the snapshot first: the owner then meets written groups.
    if (round % 2 == 1) change_at_random(s, reference, rng, 2 * steps);
    rest(w);
    rest = nullptr;
    change_at_random(s, reference, rng, 3 * steps);
    StateReader r(w.data());
    ASSERT_EQ(r.u64(), 42u);
    const std::string bytes = w.data().substr(sizeof(uint64_t));
    EXPECT_EQ(restored(bytes, clock), at_mark) << "round " << round;
    EXPECT_EQ(restored(bytes, clock), restored(sync.data(), clock));
    EXPECT_EQ(contents(s), reference) << "round " << round;  // no change was lost
  }
}

TEST_P(KeyedStateTest, AsyncSnapshotWrittenByAnotherThreadWhileTheOwnerGoesOn) {
  const int steps = GetParam() == Backend::kHeap ? 1000 : 50;
  ManualClock clock;
  ValueState<std::string> s(scope_for(0, 1, clock));
  std::map<std::string, std::string> reference;
  std::mt19937_64 rng(5);
  change_at_random(s, reference, rng, 5 * steps);
  for (int round = 0; round < 6; ++round) {
    const auto at_mark = reference;
    StateWriter w;
    std::thread writer([&w, rest = s.snapshot_async()] { rest(w); });
    change_at_random(s, reference, rng, 4 * steps);
    writer.join();
    EXPECT_EQ(restored(w.data(), clock), at_mark) << "round " << round;
    EXPECT_EQ(contents(s), reference) << "round " << round;
  }
}

TEST_P(KeyedStateTest, ChangesMadeInForEachStay) {
  ManualClock clock;
  ValueState<int64_t> s(scope_for(0, 1, clock));
  for (int i = 0; i < 100; ++i) s.put("u" + std::to_string(i), i);
  s.for_each([](std::string_view, int64_t& v) { v *= 2; });
  for (int i = 0; i < 100; ++i) EXPECT_EQ(*s.get("u" + std::to_string(i)), 2 * i);
}

// get_or_create_each, whose callback inserts and erases other keys (of the same run too)
// while later keys are prefetched: the same values as get_or_create one key at a time.
TEST_P(KeyedStateTest, GetOrCreateEachMatchesGetOrCreateWhileTheCallbackChangesTheState) {
  ManualClock clock;
  ValueState<int64_t> s(scope_for(0, 1, clock));
  std::map<std::string, int64_t> reference;
  std::mt19937_64 rng(5);
  for (int run = 0; run < 200; ++run) {
    std::vector<std::string> keys;
    for (size_t n = rng() % 40; n > 0; --n) keys.push_back("k" + std::to_string(rng() % 300));
    std::vector<size_t> seen;
    s.get_or_create_each(
        keys.size(),
        [&](size_t i) -> std::optional<std::string_view> {
          if (i % 7 == 3) return std::nullopt;  // skipped
          return keys[i];
        },
        [&](size_t i, int64_t& v) {
          seen.push_back(i);
          v += static_cast<int64_t>(i) + 1;
          reference[keys[i]] += static_cast<int64_t>(i) + 1;
          const std::string other = "k" + std::to_string(rng() % 300);
          if (rng() % 2 == 0) {
            s.erase(other);
            reference.erase(other);
          } else {
            s.put(other, 7);
            reference[other] = 7;
          }
        });
    std::vector<size_t> expected;
    for (size_t i = 0; i < keys.size(); ++i)
      if (i % 7 != 3) expected.push_back(i);
    EXPECT_EQ(seen, expected);
  }
  EXPECT_EQ(s.size(), reference.size());
  for (const auto& [k, v] : reference) {
    const int64_t* got = s.get(k);
    ASSERT_NE(got, nullptr) << k;
    EXPECT_EQ(*got, v) << k;
  }
}

// get_each, whose callback erases and inserts keys (of the same run too) while later keys
// are prefetched: the same as get one key at a time.
TEST_P(KeyedStateTest, GetEachMatchesGetWhileTheCallbackChangesTheState) {
  ManualClock clock;
  ValueState<int64_t> s(scope_for(0, 1, clock));
  std::map<std::string, int64_t> reference;
  std::mt19937_64 rng(6);
  for (int i = 0; i < 150; ++i) {
    const std::string key = "k" + std::to_string(rng() % 300);
    s.put(key, i);
    reference[key] = i;
  }
  size_t found = 0;
  for (int run = 0; run < 200; ++run) {
    std::vector<std::string> keys;
    for (size_t n = rng() % 40; n > 0; --n) keys.push_back("k" + std::to_string(rng() % 300));
    std::vector<size_t> seen;
    s.get_each(
        keys.size(),
        [&](size_t i) -> std::optional<std::string_view> {
          if (i % 5 == 2) return std::nullopt;  // skipped
          return keys[i];
        },
        [&](size_t i, int64_t* v) {
          seen.push_back(i);
          const auto it = reference.find(keys[i]);
          ASSERT_EQ(v != nullptr, it != reference.end()) << keys[i];
          if (v == nullptr) return;
          ++found;
          EXPECT_EQ(*v, it->second) << keys[i];
          if (rng() % 3 == 0) {  // the key itself
            s.erase(keys[i]);
            reference.erase(it);
          }
          const std::string other = "k" + std::to_string(rng() % 300);
          if (rng() % 2 == 0) {
            s.erase(other);
            reference.erase(other);
          } else {
            s.put(other, run);
            reference[other] = run;
          }
        });
    std::vector<size_t> expected;
    for (size_t i = 0; i < keys.size(); ++i)
      if (i % 5 != 2) expected.push_back(i);
    EXPECT_EQ(seen, expected);
  }
  EXPECT_GT(found, 100u);
  EXPECT_EQ(s.size(), reference.size());
}

TEST_P(KeyedStateTest, TruncatedSnapshotIsAnError) {
  ManualClock clock;
  ValueState<int64_t> s(scope_for(0, 1, clock));
  s.put("a", 1);
  StateWriter w;
  s.snapshot(w);
  const std::string cut = w.data().substr(0, w.data().size() - 3);
  ValueState<int64_t> t(scope_for(0, 1, clock));
  StateReader r(cut);
  EXPECT_THROW(t.restore(r), StateFormatError);
}

TEST_P(KeyedStateTest, MapStateKeepsAMapPerKey) {
  ManualClock clock;
  MapState<std::string, int64_t> s(scope_for(0, 1, clock));
  s.put("u1", "shoes", 2);
  s.put("u1", "hats", 1);
  s.put("u2", "shoes", 5);
  EXPECT_EQ(*s.get("u1", "shoes"), 2);
  EXPECT_EQ(s.get("u1", "socks"), nullptr);
  EXPECT_EQ(s.entries("u1")->size(), 2u);
  StateWriter w;
  s.snapshot(w);
  MapState<std::string, int64_t> t(scope_for(0, 1, clock));
  StateReader r(w.data());
  t.restore(r);
  EXPECT_EQ(*t.get("u2", "shoes"), 5);
}

struct SumAndCount {
  struct Accumulator {
    double sum = 0;
    int64_t count = 0;
    void write(StateWriter& w) const {
      write_state(w, sum);
      write_state(w, count);
    }
    static Accumulator read(StateReader& r) {
      Accumulator a;
      a.sum = read_state<double>(r);
      a.count = read_state<int64_t>(r);
      return a;
    }
  };
  using Input = double;
  using Result = double;
  static void add(Accumulator& a, double v) {
    a.sum += v;
    ++a.count;
  }
  static void merge(Accumulator& a, const Accumulator& b) {
    a.sum += b.sum;
    a.count += b.count;
  }
  static double result(const Accumulator& a) { return a.count ? a.sum / a.count : 0; }
};

TEST_P(KeyedStateTest, AggregatingStateAddsMergesAndSnapshots) {
  ManualClock clock;
  AggregatingState<SumAndCount> avg(scope_for(0, 1, clock));
  avg.add("u", 10);
  avg.add("u", 20);
  EXPECT_DOUBLE_EQ(avg.result("u"), 15);
  avg.merge("u", SumAndCount::Accumulator{60, 1});
  EXPECT_DOUBLE_EQ(avg.result("u"), 30);
  EXPECT_DOUBLE_EQ(avg.result("nobody"), 0);
  StateWriter w;
  avg.snapshot(w);
  AggregatingState<SumAndCount> restored(scope_for(0, 1, clock));
  StateReader r(w.data());
  restored.restore(r);
  EXPECT_DOUBLE_EQ(restored.result("u"), 30);
}

}  // namespace
}  // namespace segflow

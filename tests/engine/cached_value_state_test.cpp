// The rocksdb backend's cache in front of the store (engine/cached_value_state.h): what
// the heap backend has no equivalent of. The tests shared by both backends are in
// keyed_state_test.cpp.
#include "engine/cached_value_state.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "engine/keyed_state.h"
#include "engine/rocksdb_state_store.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

class CachedValueStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if SEGFLOW_HAVE_ROCKSDB
    store_ = make_rocksdb_state_store(dir_.file("state"), /*cache_entries=*/16,
                                      /*incremental=*/false);
#else
    SEGFLOW_SKIP_WITHOUT("RocksDB (librocksdb-dev) not built in: no rocksdb state backend");
#endif
  }
  KeyedStateScope scope() { return {{0, 128}, 128, &clock_, store_.get()}; }
  // Entries of state `state` in the store (written back), over all key groups.
  size_t stored(uint32_t state) {
    size_t n = 0;
    for (uint32_t kg = 0; kg < 128; ++kg)
      store_->scan(state, kg, [&](std::string_view, std::string_view) { ++n; });
    return n;
  }

  ManualClock clock_;
  testing::TempDir dir_;
  std::unique_ptr<KeyedStateStore> store_;
};

TEST_F(CachedValueStateTest, EvictedEntriesAreWrittenBackAndReadAgain) {
  ValueState<int64_t> s(scope());
  for (int i = 0; i < 100; ++i) s.put("u" + std::to_string(i), i);
  EXPECT_GE(stored(0), 100u - 16u);  // all but at most a cache's worth went to the store
  for (int i = 0; i < 100; ++i) ++s.get_or_create("u" + std::to_string(i));
  for (int i = 0; i < 100; ++i) EXPECT_EQ(*s.get("u" + std::to_string(i)), i + 1);
}

TEST_F(CachedValueStateTest, APointerFromARecentAccessSurvivesLaterMisses) {
  ValueState<std::string> s(scope());
  for (int i = 0; i < 16; ++i) s.put("old" + std::to_string(i), "x");  // a full cache
  std::string& kept = s.get_or_create("kept");
  kept = "before";
  for (int i = 0; i < 8; ++i) s.get_or_create("new" + std::to_string(i));  // evict twice
  EXPECT_EQ(kept, "before");
  kept = "after";  // through the old reference
  for (int i = 0; i < 100; ++i) s.get_or_create("more" + std::to_string(i));
  EXPECT_EQ(*s.get("kept"), "after");
}

TEST_F(CachedValueStateTest, StatesOfOneStoreAreSeparate) {
  ValueState<int64_t> a(scope());
  ValueState<int64_t> b(scope());
  a.put("k", 1);
  b.put("k", 2);
  for (int i = 0; i < 50; ++i) a.put("fill" + std::to_string(i), i);
  EXPECT_EQ(*a.get("k"), 1);
  EXPECT_EQ(*b.get("k"), 2);
  b.erase("k");
  EXPECT_EQ(*a.get("k"), 1);
  EXPECT_EQ(b.get("k"), nullptr);
}

TEST_F(CachedValueStateTest, OnLoadRebuildsWhatTheCodecLeavesOut) {
  ValueState<std::string> s(scope());
  int loads = 0;
  s.on_load([&](std::string& v) {
    ++loads;
    v += "+rebuilt";
  });
  s.put("a", "v");
  EXPECT_EQ(*s.get("a"), "v");  // cached: not loaded
  EXPECT_EQ(loads, 0);
  for (int i = 0; i < 50; ++i) s.put("fill" + std::to_string(i), "f");
  EXPECT_EQ(*s.get("a"), "v+rebuilt");  // evicted, read back
  EXPECT_GE(loads, 1);
}

}  // namespace
}  // namespace segflow

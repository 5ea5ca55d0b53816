// Batch and arena: properties, deep copies, reuse.
#include "engine/batch.h"

#include <gtest/gtest.h>

namespace segflow {
namespace {

TEST(BatchTest, RecordsKeepTheirPropertiesAndStrings) {
  Batch b;
  {
    std::string key = "user-1";
    std::string brand = "acme";
    b.add(EventKind::kTrack, key, 42, intern("Product Viewed"))
        .set("properties.brand", Value::string(brand))
        .set("properties.price", Value::real(9.5));
    key.assign("overwritten");  // the batch copied the bytes
    brand.assign("overwritten");
  }
  b.add(EventKind::kIdentify, "user-2", 43, intern("identify"))
      .set("traits.vip", Value::boolean(true));
  ASSERT_EQ(b.size(), 2u);
  const Record& r = b.records()[0];
  EXPECT_EQ(r.key, "user-1");
  EXPECT_EQ(r.event_time, 42);
  EXPECT_EQ(symbol_name(r.event), "Product Viewed");
  ASSERT_EQ(b.properties(r).size(), 2u);
  EXPECT_EQ(b.find(r, intern("properties.brand"))->as_string(), "acme");
  EXPECT_EQ(b.find(r, intern("properties.price"))->as_double(), 9.5);
  EXPECT_EQ(b.find(r, intern("traits.vip")), nullptr);
  EXPECT_TRUE(b.find(b.records()[1], intern("traits.vip"))->as_bool());
}

TEST(BatchTest, CopyFromIsDeep) {
  Batch target;
  {
    Batch source;
    source.add(EventKind::kTrack, "k", 1, intern("e")).set("s", Value::string("text"));
    target.copy_from(source, source.records()[0]);
    source.clear();
    source.add(EventKind::kTrack, "zzzzzzzzzzzz", 2, intern("e")).set("s", Value::string("xxxx"));
  }
  EXPECT_EQ(target.records()[0].key, "k");
  EXPECT_EQ(target.find(target.records()[0], intern("s"))->as_string(), "text");
}

TEST(BatchTest, PoolRecyclesClearedBatches) {
  Batch* raw = nullptr;
  {
    BatchPtr b = BatchPool::acquire();
    b->add(EventKind::kTrack, "k", 1, intern("e"));
    raw = b.get();
  }
  const size_t parked = BatchPool::parked();
  EXPECT_GE(parked, 1u);
  BatchPtr again = BatchPool::acquire();
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(BatchPool::parked(), parked - 1);
  (void)raw;
}

TEST(ArenaTest, ResetKeepsOneBlockAndStoresLargeStrings) {
  Arena a;
  const std::string big(100'000, 'x');
  EXPECT_EQ(a.store(big), big);
  EXPECT_EQ(a.store("small"), "small");
  a.reset();
  EXPECT_EQ(a.bytes_used(), 0u);
  EXPECT_EQ(a.store("again"), "again");
}

}  // namespace
}  // namespace segflow

// Per-partition event-time progress of the Kafka source: minimum over active partitions,
// idle partitions excused, new partitions holding back until they deliver or turn idle.
#include "connectors/kafka/partition_watermarks.h"

#include <gtest/gtest.h>

#include "engine/record.h"

namespace segflow {
namespace {

constexpr int64_t kIdle = 1000;

TEST(PartitionWatermarksTest, NothingAssignedIsUnknown) {
  PartitionWatermarks w(kIdle);
  EXPECT_EQ(w.reached(0), kMinTime);
}

TEST(PartitionWatermarksTest, MinimumOverPartitions) {
  PartitionWatermarks w(kIdle);
  w.assign("events", 0, 0);
  w.assign("events", 1, 0);
  w.observe("events", 0, 5000, 10);
  EXPECT_EQ(w.reached(10), kMinTime);  // partition 1 has delivered nothing yet
  w.observe("events", 1, 3000, 20);
  EXPECT_EQ(w.reached(20), 3000);
  w.observe("events", 1, 7000, 30);
  EXPECT_EQ(w.reached(30), 5000);
  w.observe("events", 0, 4000, 40);  // out of order: the largest time stays
  EXPECT_EQ(w.reached(40), 5000);
}

TEST(PartitionWatermarksTest, SameNumberOnAnotherTopicIsAnotherPartition) {
  PartitionWatermarks w(kIdle);
  w.observe("a", 0, 9000, 0);
  w.observe("b", 0, 2000, 0);
  EXPECT_EQ(w.partitions(), 2u);
  EXPECT_EQ(w.reached(0), 2000);
}

TEST(PartitionWatermarksTest, IdlePartitionStopsHoldingBack) {
  PartitionWatermarks w(kIdle);
  w.assign("events", 0, 0);
  w.assign("events", 1, 0);
  w.observe("events", 0, 5000, 0);
  w.observe("events", 1, 1000, 0);
  w.observe("events", 0, 8000, 900);
  EXPECT_EQ(w.reached(900), 1000);
  EXPECT_EQ(w.reached(kIdle), 8000);  // partition 1 quiet for the idle timeout
  // It delivers again: it holds the watermark again.
  w.observe("events", 1, 2000, 1500);
  EXPECT_EQ(w.reached(1500), 2000);
  // Everything quiet: unknown, the runtime's own idleness takes over.
  EXPECT_EQ(w.reached(1500 + kIdle), kMinTime);
}

TEST(PartitionWatermarksTest, EmptyPartitionHoldsUntilIdle) {
  PartitionWatermarks w(kIdle);
  w.assign("events", 0, 0);
  w.assign("events", 1, 0);
  w.observe("events", 0, 5000, 100);
  EXPECT_EQ(w.reached(kIdle - 1), kMinTime);
  EXPECT_EQ(w.reached(kIdle), 5000);
  EXPECT_TRUE(w.any_active(kIdle + 99));
  EXPECT_FALSE(w.any_active(kIdle + 100));
}

TEST(PartitionWatermarksTest, RevokedPartitionNoLongerCounts) {
  PartitionWatermarks w(kIdle);
  w.observe("events", 0, 5000, 0);
  w.observe("events", 1, 1000, 0);
  w.revoke("events", 1);
  EXPECT_EQ(w.partitions(), 1u);
  EXPECT_EQ(w.reached(0), 5000);
  w.assign("events", 0, 0);  // already tracked: keeps its progress
  EXPECT_EQ(w.reached(0), 5000);
}

}  // namespace
}  // namespace segflow

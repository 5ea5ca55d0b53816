#include "connectors/kafka/partition_positions.h"

#include <gtest/gtest.h>

namespace segflow {
namespace {

using Partition = PartitionPositions::Partition;

TEST(PartitionPositions, LatestIsTheLargestPositionAndItsEpoch) {
  PartitionPositions positions;
  EXPECT_FALSE(positions.latest({"t", 0}));
  positions.publish({"t", 0}, 10, 3);
  positions.publish({"t", 0}, 7, 4);  // older position: ignored
  positions.publish({"t", 0}, 25, 5);
  ASSERT_TRUE(positions.latest({"t", 0}));
  EXPECT_EQ(positions.latest({"t", 0})->offset, 25);
  EXPECT_EQ(positions.latest({"t", 0})->epoch, 5);
  EXPECT_FALSE(positions.latest({"t", 1}));
}

TEST(PartitionPositions, AStartPositionDoesNotOverrideAPublishedOne) {
  PartitionPositions positions;
  positions.publish({"t", 0}, 10, 3);             // restored
  positions.publish_if_unknown({"t", 0}, 40, 3);  // committed later than the checkpoint
  positions.publish_if_unknown({"t", 1}, 40, 3);  // not in the checkpoint: starts there
  positions.publish_if_unknown({"t", 1}, 50, 3);
  EXPECT_EQ(positions.latest({"t", 0})->offset, 10);
  EXPECT_EQ(positions.latest({"t", 1})->offset, 40);
  using List = std::vector<std::pair<Partition, int64_t>>;
  EXPECT_EQ(positions.positions_for(4), (List{{{"t", 0}, 10}, {{"t", 1}, 40}}));
}

TEST(PartitionPositions, ACheckpointHoldsThePositionsPublishedBeforeItsBarrier) {
  PartitionPositions positions;
  positions.publish({"t", 0}, 10, 3);  // handed over after barrier 3
  positions.publish({"t", 0}, 25, 5);  // handed over again after barrier 5
  positions.publish({"t", 1}, 4, 5);
  using List = std::vector<std::pair<Partition, int64_t>>;
  EXPECT_EQ(positions.positions_for(3), List{});
  EXPECT_EQ(positions.positions_for(4), (List{{{"t", 0}, 10}}));
  EXPECT_EQ(positions.positions_for(5), (List{{{"t", 0}, 10}}));
  EXPECT_EQ(positions.positions_for(6), (List{{{"t", 0}, 25}, {{"t", 1}, 4}}));
}

TEST(PartitionPositions, ForgettingKeepsWhatLaterCheckpointsNeed) {
  PartitionPositions positions;
  positions.publish({"t", 0}, 10, 3);
  positions.publish({"t", 0}, 20, 4);
  positions.publish({"t", 0}, 30, 8);
  positions.forget_before(6);
  using List = std::vector<std::pair<Partition, int64_t>>;
  EXPECT_EQ(positions.positions_for(7), (List{{{"t", 0}, 20}}));
  EXPECT_EQ(positions.positions_for(9), (List{{{"t", 0}, 30}}));
  EXPECT_EQ(positions.positions_for(4), List{});  // before anything kept
}

}  // namespace
}  // namespace segflow

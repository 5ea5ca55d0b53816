// PartitionPositions: the Kafka partition positions that the subtasks of one checkpointed
// Kafka source share inside the process, so that a partition moving between subtasks (a
// group rebalance) or coming back from a checkpoint continues exactly where it stopped.
//
// A position is the offset of the next record to read, published with an epoch: the id of
// the last checkpoint whose barrier the publishing subtask had passed when it gave the
// partition up (or the id of the restored checkpoint). Everything before the position went
// downstream before that subtask's barrier epoch+1. So:
//   - checkpoint n holds, for every partition no subtask reports itself, the newest
//     position published with epoch < n (positions_for);
//   - a subtask taking a partition over must not read it before its own barrier has
//     reached the epoch (else records before and after a barrier would mix), and then
//     starts at the position (latest).
// Positions only grow (a partition is read forward), so a restore takes the largest
// position over all snapshots. Thread safety: every method locks; shared by the subtasks.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace segflow {

class PartitionPositions {
 public:
  using Partition = std::pair<std::string, int32_t>;  // topic, partition
  struct Position {
    int64_t offset;
    int64_t epoch;
  };

  // Publishes `offset` as `partition`'s position after checkpoint `epoch`; a smaller offset
  // than one already published is ignored.
  void publish(const Partition& partition, int64_t offset, int64_t epoch);
  // Publishes `offset` as `partition`'s position after checkpoint `epoch` unless a position
  // was published for it before (a partition's start, which a restore must not override).
  void publish_if_unknown(const Partition& partition, int64_t offset, int64_t epoch);
  // The newest position of `partition`; nullopt if none was ever published.
  std::optional<Position> latest(const Partition& partition) const;
  // For checkpoint `checkpoint_id`: each partition's newest position published with an
  // epoch below it.
  std::vector<std::pair<Partition, int64_t>> positions_for(int64_t checkpoint_id) const;
  // Drops positions that no checkpoint after `completed_id` can need (keeps, per
  // partition, the newest one with an epoch up to it and all later ones).
  void forget_before(int64_t completed_id);

 private:
  mutable std::mutex mutex_;
  std::map<Partition, std::vector<Position>> positions_;  // ascending epoch and offset
};

}  // namespace segflow

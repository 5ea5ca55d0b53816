#include "connectors/kafka/partition_positions.h"

#include <algorithm>

namespace segflow {

void PartitionPositions::publish(const Partition& partition, int64_t offset, int64_t epoch) {
  std::lock_guard lock(mutex_);
  std::vector<Position>& history = positions_[partition];
  if (!history.empty() && history.back().offset >= offset) return;
  // A position published at an older epoch than the newest cannot happen for a partition
  // read forward; keep the history ordered anyway.
  if (!history.empty() && history.back().epoch > epoch) epoch = history.back().epoch;
  if (!history.empty() && history.back().epoch == epoch)
    history.back().offset = offset;
  else
    history.push_back(Position{offset, epoch});
}

void PartitionPositions::publish_if_unknown(const Partition& partition, int64_t offset,
                                            int64_t epoch) {
  std::lock_guard lock(mutex_);
  std::vector<Position>& history = positions_[partition];
  if (history.empty()) history.push_back(Position{offset, epoch});
}

std::optional<PartitionPositions::Position> PartitionPositions::latest(
    const Partition& partition) const {
  std::lock_guard lock(mutex_);
  const auto it = positions_.find(partition);
  if (it == positions_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::pair<PartitionPositions::Partition, int64_t>> PartitionPositions::positions_for(
    int64_t checkpoint_id) const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<Partition, int64_t>> out;
  for (const auto& [partition, history] : positions_) {
    const Position* chosen = nullptr;
    for (const Position& p : history)
      if (p.epoch < checkpoint_id) chosen = &p;
    if (chosen != nullptr) out.emplace_back(partition, chosen->offset);
  }
  return out;
}

void PartitionPositions::forget_before(int64_t completed_id) {
  std::lock_guard lock(mutex_);
  for (auto& [partition, history] : positions_) {
    // The newest position with epoch <= completed_id stays: later checkpoints need it.
    auto keep = history.begin();
    for (auto it = history.begin(); it != history.end(); ++it)
      if (it->epoch <= completed_id) keep = it;
    history.erase(history.begin(), keep);
  }
}

}  // namespace segflow

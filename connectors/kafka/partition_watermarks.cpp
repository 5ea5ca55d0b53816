#include "connectors/kafka/partition_watermarks.h"

#include <algorithm>

#include "engine/record.h"

namespace segflow {

PartitionWatermarks::Partition* PartitionWatermarks::find(std::string_view topic,
                                                          int32_t partition) {
  auto matches = [&](const Partition& p) { return p.partition == partition && p.topic == topic; };
  if (last_hit_ < partitions_.size() && matches(partitions_[last_hit_]))
    return &partitions_[last_hit_];
  for (size_t i = 0; i < partitions_.size(); ++i) {
    if (matches(partitions_[i])) {
      last_hit_ = i;
      return &partitions_[i];
    }
  }
  return nullptr;
}

void PartitionWatermarks::assign(std::string_view topic, int32_t partition, int64_t now_ms) {
  if (find(topic, partition) != nullptr) return;
  partitions_.push_back(Partition{std::string(topic), partition, kMinTime, now_ms});
}

void PartitionWatermarks::revoke(std::string_view topic, int32_t partition) {
  std::erase_if(partitions_,
                [&](const Partition& p) { return p.partition == partition && p.topic == topic; });
  last_hit_ = 0;
}

void PartitionWatermarks::observe(std::string_view topic, int32_t partition, int64_t event_time,
                                  int64_t now_ms) {
  Partition* p = find(topic, partition);
  if (p == nullptr) {
    assign(topic, partition, now_ms);
    p = &partitions_.back();
  }
  p->max_event_time = std::max(p->max_event_time, event_time);
  p->last_activity_ms = now_ms;
}

bool PartitionWatermarks::any_active(int64_t now_ms) const {
  for (const Partition& p : partitions_)
    if (now_ms - p.last_activity_ms < idle_timeout_ms_) return true;
  return false;
}

int64_t PartitionWatermarks::reached(int64_t now_ms) const {
  int64_t reached = kMaxTime;
  bool any_active = false;
  for (const Partition& p : partitions_) {
    if (now_ms - p.last_activity_ms >= idle_timeout_ms_) continue;
    any_active = true;
    reached = std::min(reached, p.max_event_time);
  }
  return any_active ? reached : kMinTime;
}

}  // namespace segflow

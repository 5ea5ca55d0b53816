// PartitionWatermarks: the event-time progress of one Kafka source subtask, tracked per
// assigned partition. Each partition remembers the largest event time it delivered and when
// it last delivered anything (processing time); reached() is the minimum of the largest
// event times over the partitions that are not idle, so a slow partition holds the
// watermark back and a quiet one (nothing for `idle_timeout_ms`) does not. A partition that
// has delivered nothing since its assignment holds the watermark at kMinTime until it
// turns idle. Thread safety: none; used by the source's thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace segflow {

class PartitionWatermarks {
 public:
  explicit PartitionWatermarks(int64_t idle_timeout_ms) : idle_timeout_ms_(idle_timeout_ms) {}

  // Starts tracking a newly assigned partition (no effect if already tracked).
  void assign(std::string_view topic, int32_t partition, int64_t now_ms);
  // Stops tracking a revoked partition.
  void revoke(std::string_view topic, int32_t partition);
  // A record with `event_time` came from the partition (tracked or not: an untracked one is
  // added, as messages can arrive before the assignment callback is seen).
  void observe(std::string_view topic, int32_t partition, int64_t event_time, int64_t now_ms);

  // The minimum largest event time over the partitions active at `now_ms`; kMinTime when
  // no partition is active or an active one has delivered nothing yet.
  int64_t reached(int64_t now_ms) const;
  // Whether some partition is active at `now_ms` (has delivered, or was assigned, within the
  // idle timeout).
  bool any_active(int64_t now_ms) const;
  size_t partitions() const { return partitions_.size(); }

 private:
  struct Partition {
    std::string topic;
    int32_t partition;
    int64_t max_event_time;
    int64_t last_activity_ms;
  };
  Partition* find(std::string_view topic, int32_t partition);

  int64_t idle_timeout_ms_;
  std::vector<Partition> partitions_;
  size_t last_hit_ = 0;
};

}  // namespace segflow

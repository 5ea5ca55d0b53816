// KafkaSource (`type: kafka`): consumes Segment-spec JSON events from Kafka topics as a
// member of a consumer group (librdkafka). Each source subtask is one group member; Kafka
// spreads the partitions over them. Every message becomes one record or one dead letter
// (origin "<id>:<topic>:<partition>:<offset>", reason as for files).
//
// Event time comes from the payload (`timestamp_field`, default) or from the Kafka message
// timestamp (`event_time: message`). The source tracks event time per partition and reports
// the minimum over its active partitions to the runtime (Source::event_time_reached), so
// the watermark waits for the slowest partition while a partition that delivered nothing for
// `idle_timeout` stops holding it back (its later records may then be late).
//
// Offsets belong to segflow.
//   - With checkpoints (the job has `checkpoints:`): exactly-once. Each subtask's snapshot
//     holds the position (next offset) of every partition it reads, and the positions of
//     partitions handed over to other subtasks of the same source (PartitionPositions); a
//     restore reads every old subtask's snapshot, so the parallelism may change, and the
//     assignment callback starts each partition at its checkpointed position. A partition
//     moving between subtasks in a rebalance continues where it stopped; the new owner
//     waits until its own barrier has reached the old owner's before reading it. When a
//     checkpoint completes, the positions it holds are committed to the group (async), so
//     tools (lag monitors, `kafka-consumer-groups`) see them; a run without a checkpoint to
//     restore starts at the committed offsets. Those start positions (and, for a partition
//     a restored checkpoint lacks, its committed offset) are read before the first poll, so
//     a checkpoint taken before the group assigned every partition holds them too. At the
//     end of the job the final positions are committed synchronously.
//   - Without checkpoints: at-least-once. A message's offset is stored once its record has
//     been handed downstream (on the next poll), and stored offsets are committed every
//     `commit_interval`, on partition revocation and on close. Broker failures, rebalances
//     and graceful stops (SIGINT/SIGTERM drain the graph before the final commit) lose
//     nothing but may deliver a record twice; a crash of segflow itself can lose records
//     already handed downstream but not yet written by the sinks.
//   - id: events
//     type: kafka
//     brokers: localhost:9092          # bootstrap servers
//     group: segflow-retail            # consumer group id
//     topics: [events]                 # or pattern: "^events-.*" (a regular expression)
//     event_time: payload              # or message (the Kafka message timestamp)
//     timestamp_field: timestamp       # payload field of the event time
//     commit_interval: 5s             # without checkpoints
//     idle_timeout: 10s                # a partition quiet this long stops holding the watermark
//     stop_at_end: false               # true: end once every subtask has read its partitions
//     properties: { auto.offset.reset: earliest, fetch.max.bytes: 52428800 }  # librdkafka
//
// Defaults passed to librdkafka (overridable in `properties`): auto.offset.reset=earliest,
// client.id=segflow-<id>-<subtask>. Set by segflow: group.id, enable.auto.commit,
// enable.auto.offset.store, auto.commit.interval.ms, enable.partition.eof.
// Thread safety: one instance per subtask, used by that subtask's thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/kafka/kafka_properties.h"
#include "connectors/kafka/partition_positions.h"
#include "connectors/kafka/partition_watermarks.h"
#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class SegmentDecoder;

class KafkaSource final : public Source {
 public:
  struct Config {
    KafkaProperties properties;  // without client.id and the settings segflow owns
    std::string group;
    std::vector<std::string> topics;  // a pattern is one entry starting with '^'
    bool message_time = false;        // event_time: message
    std::string timestamp_field = "timestamp";
    size_t max_event_bytes = 32768;
    int64_t commit_interval_ms = 5000;
    int64_t idle_timeout_ms = 10000;
    bool stop_at_end = false;
    // stop_at_end: how many subtasks of this source have read all their partitions. The
    // subtasks end together, once all of them have, so that none leaves the group (which
    // moves its partitions to the others) while the others are still reading.
    std::shared_ptr<std::atomic<uint32_t>> subtasks_at_end =
        std::make_shared<std::atomic<uint32_t>>(0);
    // With checkpoints: the partition positions the subtasks hand over to each other.
    std::shared_ptr<PartitionPositions> positions = std::make_shared<PartitionPositions>();
    static Config parse(const ConfigNode& node);
  };

  static constexpr size_t kMessagesPerPoll = 512;

  explicit KafkaSource(const Config& config);
  ~KafkaSource() override;
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // Creates the consumer and subscribes; throws std::runtime_error when it cannot.
  void open(OperatorContext& ctx) override;
  SourceStatus poll(Output& out) override;
  std::optional<int64_t> event_time_reached() const override;
  void prepare_snapshot(int64_t checkpoint_id) override;
  // Format: version, checkpoint id, then (topic, partition, next offset) per partition.
  void snapshot(StateWriter& w) const override;
  void restore(StateReader& r) override;
  bool restores_every_snapshot() const override { return true; }
  // Commits the positions of checkpoint `checkpoint_id` to the group.
  void on_checkpoint_complete(int64_t checkpoint_id) override;
  // Stores the last offsets, commits them and leaves the group.
  void close() override;

  uint64_t records_emitted() const { return records_emitted_; }
  uint64_t dead_lettered() const { return dead_lettered_; }

 private:
  struct Client;  // the librdkafka handles (kafka_source.cpp)

  using Positions = std::vector<std::pair<PartitionPositions::Partition, int64_t>>;

  // stop_at_end: whether this subtask and all the others have read their partitions.
  bool end_reached();
  // With checkpoints: commits the current positions of this subtask's partitions (sync);
  // false if the commit failed.
  bool commit_current_positions();
  // With checkpoints, before the first read: publishes the start position (the committed
  // offset, else where auto.offset.reset starts) of every partition of the topics that has
  // none yet, so that every checkpoint holds every partition, also those no subtask had
  // been assigned at its barrier. false if the brokers did not answer (tried again).
  bool publish_start_positions();

  const Config config_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<SegmentDecoder> decoder_;
  const Clock* clock_ = nullptr;
  PartitionWatermarks watermarks_;
  bool counted_at_end_ = false;  // this subtask is counted in subtasks_at_end
  bool checkpointing_ = false;
  bool start_positions_published_ = false;
  int64_t last_barrier_ = 0;  // the last checkpoint id this subtask snapshotted or restored
  Positions snapshot_;        // what prepare_snapshot chose for snapshot() to write
  std::map<int64_t, Positions> uncommitted_;  // own positions per checkpoint, until complete
  uint64_t records_emitted_ = 0;
  uint64_t dead_lettered_ = 0;
};

}  // namespace segflow

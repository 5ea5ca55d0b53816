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
// Offsets belong to segflow: a message's offset is stored only once its record has been
// handed downstream (on the next poll), and stored offsets are committed every
// `commit_interval`, on partition revocation and on close. Delivery is at-least-once for
// broker failures, rebalances and graceful stops (SIGINT/SIGTERM drain the graph before the
// final commit); a crash of segflow itself can lose records already handed downstream but
// not yet written by the sinks, until checkpoints own the offsets.
//
//   - id: events
//     type: kafka
//     brokers: localhost:9092          # bootstrap servers
//     group: segflow-retail            # consumer group id
//     topics: [events]                 # or pattern: "^events-.*" (a regular expression)
//     event_time: payload              # or message (the Kafka message timestamp)
//     timestamp_field: timestamp       # payload field of the event time
//     commit_interval: 5s
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
#include <memory>
#include <string>
#include <vector>

#include "connectors/kafka/kafka_properties.h"
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
  // Stores the last offsets, commits them and leaves the group.
  void close() override;

  uint64_t records_emitted() const { return records_emitted_; }
  uint64_t dead_lettered() const { return dead_lettered_; }

 private:
  struct Client;  // the librdkafka handles (kafka_source.cpp)

  // stop_at_end: whether this subtask and all the others have read their partitions.
  bool end_reached();

  const Config config_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<SegmentDecoder> decoder_;
  const Clock* clock_ = nullptr;
  PartitionWatermarks watermarks_;
  bool counted_at_end_ = false;  // this subtask is counted in subtasks_at_end
  uint64_t records_emitted_ = 0;
  uint64_t dead_lettered_ = 0;
};

}  // namespace segflow

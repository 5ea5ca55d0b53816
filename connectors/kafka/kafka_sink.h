// KafkaSink (`type: kafka_sink`): writes every record as one JSON message (the format of
// connectors/json/record_json.h) to a Kafka topic, keyed by the record's profile key, so a
// profile's changes stay in order in one partition. Delivery reports are checked: a message
// librdkafka could not deliver (after its own retries, within `message.timeout.ms`) is
// produced again up to `retries` times, then sent to the dead-letter output (reason
// "kafka delivery failed", origin "<id>:<topic>: <error>"); permanent errors (message too
// large, authorization) go there at once. A full local queue blocks the sink
// (backpressure). At close the sink waits up to `flush_timeout` for every delivery report;
// what is still undelivered then is dead-lettered too.
//
// Guarantee: at-least-once; with checkpoints and `exactly_once: true` (the default),
// exactly-once for `read_committed` consumers. Then each subtask writes through a
// transactional producer (transactional.id "<transactional_id_prefix>-<id>-<subtask>-<k>",
// k < 4): records between two barriers form one transaction, flushed at barrier n
// (pre-commit) and committed when checkpoint n completes; the next transaction is written
// by another producer of the subtask's pool meanwhile. On start every id of the pool is
// initialised, which aborts what a killed predecessor left open and fences it, so a
// restart from checkpoint n replays into new transactions what n did not commit. A
// delivery failure inside a transaction fails the job (restart it from its checkpoint);
// at the end of the job the open transactions are committed. Limits: a commit that fails
// after its checkpoint completed (transaction.timeout.ms exceeded, broker lost the
// transaction) loses that transaction's records, reported on stderr; a job stopped by
// SIGINT/SIGTERM commits its output at the end, so resuming it from its last checkpoint
// repeats what followed that checkpoint; more than 3 checkpoints given up in a row with
// records pending fail the job.
//
//   - id: segment_changes
//     type: kafka_sink
//     inputs: [high_intent_shoppers]
//     brokers: localhost:9092
//     topic: segment-changes
//     retries: 3
//     flush_timeout: 30s
//     exactly_once: true               # with checkpoints: transactions (see above)
//     transactional_id_prefix: segflow # unique per job writing to the same cluster
//     properties: { linger.ms: 20, batch.num.messages: 10000, compression.type: lz4, acks: all }
//
// Everything under `properties` goes to librdkafka as is (batching, compression, acks,
// idempotence, security). Thread safety: one instance (one producer) per subtask, used by
// that subtask's thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/kafka/kafka_properties.h"
#include "connectors/retry/delivery_metrics.h"
#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class KafkaSink final : public Operator {
 public:
  struct Config {
    KafkaProperties properties;
    std::string topic;
    int64_t retries = 3;
    int64_t flush_timeout_ms = 30000;
    bool exactly_once = true;
    std::string transactional_id_prefix = "segflow";
    static Config parse(const ConfigNode& node);
  };

  explicit KafkaSink(const Config& config);
  ~KafkaSink() override;
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  // Creates the producer; throws std::runtime_error when it cannot.
  void open(OperatorContext& ctx) override;
  void process(const Batch& in, Output& out) override;
  // Serves delivery reports between batches.
  void on_watermark(int64_t watermark, Output& out) override;
  // Transactions: flushes the open one, which checkpoint `checkpoint_id` then commits, and
  // begins the next on another producer.
  void prepare_snapshot(int64_t checkpoint_id) override;
  void on_checkpoint_complete(int64_t checkpoint_id) override;
  // Waits for every delivery report (up to flush_timeout).
  void close(Output& out) override;

  uint64_t delivered() const { return delivered_; }
  uint64_t retried() const { return retried_; }
  uint64_t dead_lettered() const { return dead_lettered_; }

  static constexpr int kTransactionalProducers = 4;

 private:
  struct Producer;  // the librdkafka handles and undelivered messages (kafka_sink.cpp)

  // Transactions: commits those of checkpoints up to `checkpoint_id`.
  void commit_pending(int64_t checkpoint_id);

  const Config config_;
  std::optional<DeliveryMetrics> delivery_metrics_;   // set in open(); outlives producers_
  std::vector<std::unique_ptr<Producer>> producers_;  // 1, or the transactional pool
  Producer* current_ = nullptr;                       // takes the records
  std::map<int64_t, Producer*> pending_;              // pre-committed, by checkpoint id
  std::string json_;                                  // one message's JSON, reused
  uint64_t delivered_ = 0;
  uint64_t retried_ = 0;
  uint64_t dead_lettered_ = 0;
};

}  // namespace segflow

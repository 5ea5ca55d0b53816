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
//   - id: segment_changes
//     type: kafka_sink
//     inputs: [high_intent_shoppers]
//     brokers: localhost:9092
//     topic: segment-changes
//     retries: 3
//     flush_timeout: 30s
//     properties: { linger.ms: 20, batch.num.messages: 10000, compression.type: lz4, acks: all }
//
// Everything under `properties` goes to librdkafka as is (batching, compression, acks,
// idempotence, security). Thread safety: one instance (one producer) per subtask, used by
// that subtask's thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

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
  // Waits for every delivery report (up to flush_timeout).
  void close(Output& out) override;

  uint64_t delivered() const { return delivered_; }
  uint64_t retried() const { return retried_; }
  uint64_t dead_lettered() const { return dead_lettered_; }

 private:
  struct Producer;  // the librdkafka handles and undelivered messages (kafka_sink.cpp)

  const Config config_;
  std::optional<DeliveryMetrics> delivery_metrics_;  // set in open(); outlives producer_
  std::unique_ptr<Producer> producer_;
  std::string json_;  // one message's JSON, reused
  uint64_t delivered_ = 0;
  uint64_t retried_ = 0;
  uint64_t dead_lettered_ = 0;
};

}  // namespace segflow

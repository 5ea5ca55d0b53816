// KafkaProperties: the librdkafka configuration of a Kafka source or sink. The `brokers`
// key and the optional `properties` mapping of the job spec, whose entries are passed to
// librdkafka as they are (batching, compression, security, timeouts...). Every entry is
// checked against librdkafka while the job loads, so an unknown property or a bad value
// fails with file:line:column. A plain value type; no librdkafka types in this header.
#pragma once

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "engine/config_node.h"

namespace segflow {

struct KafkaProperties {
  enum class Client { kConsumer, kProducer };

  // In the order librdkafka receives them: segflow's defaults, then the job's entries.
  std::vector<std::pair<std::string, std::string>> entries;

  // Reads `brokers` (required) and `properties` (optional) of `node`. `defaults` come first
  // and may be overridden; `reserved` properties are segflow's and rejected in the spec.
  static KafkaProperties parse(const ConfigNode& node, Client client,
                               std::vector<std::pair<std::string, std::string>> defaults,
                               std::initializer_list<const char*> reserved);

  // The value of `name` ("" when not set).
  std::string get(const std::string& name) const;
};

}  // namespace segflow

#include "connectors/kafka/kafka_properties.h"

#include <algorithm>

#include "connectors/kafka/kafka_client.h"

namespace segflow {

KafkaProperties KafkaProperties::parse(const ConfigNode& node, Client client,
                                       std::vector<std::pair<std::string, std::string>> defaults,
                                       std::initializer_list<const char*> reserved) {
  KafkaProperties p;
  const std::string brokers = node.string("brokers");
  if (brokers.empty()) node.fail_at("brokers", "must not be empty (host:port,...)");
  p.entries = std::move(defaults);
  p.entries.emplace_back("bootstrap.servers", brokers);
  // Checked against a configuration of the right client type: some properties are
  // consumer-only or producer-only.
  kafka::ConfPtr conf(rd_kafka_conf_new());
  for (const auto& [name, value] : p.entries) kafka::set_property(conf.get(), name, value);
  if (auto properties = node.optional_child("properties")) {
    for (auto& [name, value] : properties->entries()) {
      if (std::any_of(reserved.begin(), reserved.end(), [&](const char* r) { return name == r; }))
        properties->fail_at(name, "'" + name + "' is set by segflow and cannot be overridden");
      if (name == "bootstrap.servers")
        properties->fail_at(name, "set the brokers with the 'brokers' key");
      const std::string text = value.scalar();
      const std::string error = kafka::set_property(conf.get(), name, text);
      if (!error.empty()) properties->fail_at(name, error);
      p.entries.emplace_back(name, text);
    }
  }
  // librdkafka accepts consumer properties on a producer (and the reverse) with a warning;
  // reject the obvious mix-ups early.
  const char* wrong = client == Client::kProducer ? "group.id" : "transactional.id";
  for (const auto& [name, value] : p.entries)
    if (name == wrong) node.fail_at("properties", "'" + name + "' does not apply here");
  return p;
}

std::string KafkaProperties::get(const std::string& name) const {
  std::string value;
  for (const auto& [n, v] : entries)
    if (n == name) value = v;
  return value;
}

}  // namespace segflow

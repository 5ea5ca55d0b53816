#include "connectors/kafka/kafka_client.h"

#include <array>
#include <stdexcept>

namespace segflow::kafka {

std::string set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  std::array<char, 512> error{};
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), error.data(), error.size()) ==
      RD_KAFKA_CONF_OK)
    return "";
  return error.data();
}

ConfPtr make_conf(const std::vector<std::pair<std::string, std::string>>& entries) {
  ConfPtr conf(rd_kafka_conf_new());
  for (const auto& [name, value] : entries) {
    const std::string error = set_property(conf.get(), name, value);
    if (!error.empty()) throw std::runtime_error("kafka property " + name + ": " + error);
  }
  return conf;
}

HandlePtr make_client(rd_kafka_type_t type, ConfPtr conf, const std::string& who) {
  std::array<char, 512> error{};
  rd_kafka_t* handle = rd_kafka_new(type, conf.get(), error.data(), error.size());
  if (handle == nullptr)
    throw std::runtime_error(who + ": cannot create the Kafka client: " + error.data());
  conf.release();  // rd_kafka_new owns it now
  return HandlePtr(handle);
}

}  // namespace segflow::kafka

// Helpers around librdkafka's C API shared by the Kafka source and sink: owning handles
// and configuration building. Included by connectors/kafka .cpp files only, so rdkafka.h
// stays out of every other header. Thread safety: as librdkafka's.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

namespace segflow::kafka {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
struct HandleDeleter {
  void operator()(rd_kafka_t* h) const { rd_kafka_destroy(h); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using HandlePtr = std::unique_ptr<rd_kafka_t, HandleDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

// Sets `name` on `conf`; returns librdkafka's error text, "" on success.
std::string set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value);

// A configuration with every entry set; throws std::runtime_error naming the bad one.
ConfPtr make_conf(const std::vector<std::pair<std::string, std::string>>& entries);

// Creates a client from `conf` (taking it over); throws std::runtime_error on failure.
HandlePtr make_client(rd_kafka_type_t type, ConfPtr conf, const std::string& who);

}  // namespace segflow::kafka

// kafka_mock_cluster: runs librdkafka's mock Kafka cluster (rdkafka_mock.h, the real Kafka
// wire protocol on loopback TCP) for tests and benchmarks, so segflow and kcat connect to
// it as ordinary clients.
//
//   kafka_mock_cluster [--brokers N] TOPIC:PARTITIONS ...
//
// Prints "bootstrap <host:port,...>" on stdout once the brokers listen, then reads commands
// from stdin, one per line, and answers each with "ok" or "error <text>":
//   down <broker id>   disconnect the broker and refuse new connections (ids are 1..N)
//   up <broker id>     accept connections again
//   quit               (or end of input) stop the cluster and exit
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace {

int usage() {
  std::cerr << "usage: kafka_mock_cluster [--brokers N] TOPIC:PARTITIONS ...\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--brokers" && i + 1 < argc) {
      brokers = std::atoi(argv[++i]);
      if (brokers < 1) return usage();
      continue;
    }
    const auto colon = arg.rfind(':');
    if (colon == std::string::npos || colon == 0) return usage();
    const int partitions = std::atoi(arg.c_str() + colon + 1);
    if (partitions < 1) return usage();
    topics.emplace_back(arg.substr(0, colon), partitions);
  }

  // The mock cluster needs a client instance for its bookkeeping; it makes no connections.
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", error, sizeof error);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (rk == nullptr) {
    std::cerr << "kafka_mock_cluster: " << error << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (cluster == nullptr) {
    std::cerr << "kafka_mock_cluster: cannot start the mock cluster\n";
    return 1;
  }
  const int replication = brokers < 3 ? brokers : 3;
  for (const auto& [topic, partitions] : topics) {
    if (rd_kafka_resp_err_t err =
            rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, replication)) {
      std::cerr << "kafka_mock_cluster: topic " << topic << ": " << rd_kafka_err2str(err) << "\n";
      return 1;
    }
  }
  std::cout << "bootstrap " << rd_kafka_mock_cluster_bootstraps(cluster) << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string command;
    int32_t broker = -2;
    words >> command >> broker;
    if (command == "quit") break;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__INVALID_ARG;
    if (command == "down" && broker >= 1 && broker <= brokers)
      err = rd_kafka_mock_broker_set_down(cluster, broker);
    else if (command == "up" && broker >= 1 && broker <= brokers)
      err = rd_kafka_mock_broker_set_up(cluster, broker);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
      std::cout << "ok" << std::endl;
    else
      std::cout << "error " << rd_kafka_err2str(err) << std::endl;
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
  return 0;
}

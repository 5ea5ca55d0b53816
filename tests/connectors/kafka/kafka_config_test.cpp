// Job-spec parsing of the Kafka source and sink: librdkafka properties pass through and are
// checked at load, with file:line:column for every mistake.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "connectors/kafka/kafka_sink.h"
#include "connectors/kafka/kafka_source.h"
#include "engine/spec_error.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

template <class C>
typename C::Config parse(const std::string& yaml) {
  const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("job.yaml"),
                        "sources[0]");
  typename C::Config config = C::Config::parse(node);
  node.finish();
  return config;
}

template <class C>
std::string error_of(const std::string& yaml) {
  return testing::spec_error_of([&] { parse<C>(yaml); });
}

std::string get(const KafkaProperties& p, const std::string& name) { return p.get(name); }

TEST(KafkaConfigTest, SourceDefaultsAndPassThrough) {
  const auto c = parse<KafkaSource>(
      "brokers: 127.0.0.1:9092\ngroup: g\ntopics: [a, b]\ncommit_interval: 2s\n"
      "properties: { fetch.wait.max.ms: 20, auto.offset.reset: latest }\n");
  EXPECT_EQ(c.group, "g");
  EXPECT_EQ(c.topics, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.commit_interval_ms, 2000);
  EXPECT_EQ(c.idle_timeout_ms, 10000);
  EXPECT_FALSE(c.message_time);
  EXPECT_FALSE(c.stop_at_end);
  EXPECT_EQ(get(c.properties, "bootstrap.servers"), "127.0.0.1:9092");
  EXPECT_EQ(get(c.properties, "fetch.wait.max.ms"), "20");
  EXPECT_EQ(get(c.properties, "auto.offset.reset"), "latest");  // the job's entry wins
}

TEST(KafkaConfigTest, PatternBecomesARegexSubscription) {
  const auto c = parse<KafkaSource>(
      "brokers: b:1\ngroup: g\npattern: events-.*\n"
      "event_time: message\n");
  EXPECT_EQ(c.topics, (std::vector<std::string>{"^events-.*"}));
  EXPECT_TRUE(c.message_time);
}

TEST(KafkaConfigTest, SourceMistakesNameTheirPlace) {
  EXPECT_EQ(error_of<KafkaSource>("brokers: b:1\ngroup: g\n"),
            "job.yaml:1:1: sources[0]: set either 'topics' (a list of topic names) or 'pattern' "
            "(a regular expression)");
  EXPECT_NE(error_of<KafkaSource>("brokers: b:1\ngroup: g\ntopics: [a]\n"
                                  "properties:\n  no.such.property: 1\n")
                .find("job.yaml:5:21: sources[0].properties.no.such.property: No such "
                      "configuration property"),
            std::string::npos);
  EXPECT_NE(error_of<KafkaSource>("brokers: b:1\ngroup: g\ntopics: [a]\n"
                                  "properties: { fetch.wait.max.ms: soon }\n")
                .find("job.yaml:4:34: sources[0].properties.fetch.wait.max.ms: Invalid value"),
            std::string::npos);
  EXPECT_NE(error_of<KafkaSource>("brokers: b:1\ngroup: g\ntopics: [a]\n"
                                  "properties: { enable.auto.commit: false }\n")
                .find("'enable.auto.commit' is set by segflow"),
            std::string::npos);
  EXPECT_NE(error_of<KafkaSource>("brokers: b:1\ngroup: g\ntopics: [a]\nevent_time: arrival\n")
                .find("job.yaml:4:13: sources[0].event_time: expected 'payload' or 'message'"),
            std::string::npos);
  EXPECT_NE(error_of<KafkaSource>("group: g\ntopics: [a]\n").find("brokers"), std::string::npos);
  EXPECT_NE(error_of<KafkaSource>("brokers: b:1\ngroup: g\ntopics: [a]\ncommit: 1s\n")
                .find("unknown key 'commit'"),
            std::string::npos);
}

TEST(KafkaConfigTest, SinkPassThroughAndMistakes) {
  const auto c = parse<KafkaSink>(
      "brokers: b:1\ntopic: out\nretries: 5\n"
      "properties: { compression.type: lz4, linger.ms: 20, batch.num.messages: 1000 }\n");
  EXPECT_EQ(c.topic, "out");
  EXPECT_EQ(c.retries, 5);
  EXPECT_EQ(get(c.properties, "compression.type"), "lz4");
  EXPECT_NE(error_of<KafkaSink>("brokers: b:1\ntopic: out\n"
                                "properties: { compression.type: zip }\n")
                .find("job.yaml:3:33: sources[0].properties.compression.type: Invalid value"),
            std::string::npos);
  EXPECT_NE(error_of<KafkaSink>("brokers: b:1\ntopic: out\nproperties: { group.id: g }\n")
                .find("'group.id' does not apply here"),
            std::string::npos);
  EXPECT_NE(error_of<KafkaSink>("brokers: b:1\n").find("topic"), std::string::npos);
}

TEST(KafkaConfigTest, SinkTransactionSettings) {
  const auto defaults = parse<KafkaSink>("brokers: b:1\ntopic: out\n");
  EXPECT_TRUE(defaults.exactly_once);
  EXPECT_EQ(defaults.transactional_id_prefix, "segflow");
  const auto c = parse<KafkaSink>(
      "brokers: b:1\ntopic: out\nexactly_once: false\ntransactional_id_prefix: retail\n");
  EXPECT_FALSE(c.exactly_once);
  EXPECT_EQ(c.transactional_id_prefix, "retail");
  // segflow derives transactional.id per subtask and producer.
  EXPECT_NE(error_of<KafkaSink>("brokers: b:1\ntopic: out\nproperties: { transactional.id: x }\n")
                .find("transactional.id"),
            std::string::npos);
  EXPECT_NE(error_of<KafkaSink>("brokers: b:1\ntopic: out\ntransactional_id_prefix: ''\n")
                .find("job.yaml:3:26: sources[0].transactional_id_prefix: must not be empty"),
            std::string::npos);
}

}  // namespace
}  // namespace segflow

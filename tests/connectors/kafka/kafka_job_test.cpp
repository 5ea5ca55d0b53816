// The Kafka source and sink in a real deployment shape: librdkafka's mock cluster (3 brokers,
// multi-partition topics) in one process, the segflow binary in another connecting as an
// ordinary client, kcat producing the input and reading the output.
#include <gtest/gtest.h>

#include <algorithm>
#include <ctime>
#include <future>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/connectors/kafka/kafka_test_support.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using namespace std::chrono_literals;
using testing::Event;
using testing::json_field;
using testing::kcat_produce;
using testing::kcat_read;
using testing::make_events;
using testing::MockKafkaCluster;
using testing::read_file;
using testing::read_lines;
using testing::SegflowProcess;
using testing::TempDir;
using testing::write_events;
using testing::write_file;

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

// `members` source subtasks in one consumer group. One by default: with librdkafka 2.0's
// mock cluster as coordinator, two members on a loaded machine may rebalance again and
// again (each round re-reading uncommitted records), and a member whose session expired
// is held in JoinGroup for the rebalance timeout (max.poll.interval.ms, 5 min). The
// broker-down test uses two (its input is small); the checkpoint tests use two and three
// (kafka_checkpoint_test.cpp). The default session timeout (45 s) outlasts a coordinator
// that is down for seconds.
std::string kafka_source(const std::string& brokers, const std::string& group, bool stop_at_end,
                         int members = 1) {
  return "  - id: in\n    type: kafka\n    parallelism: " + std::to_string(members) +
         "\n    brokers: " + quoted(brokers) + "\n    group: " + group +
         "\n    topics: [in]\n    commit_interval: 200ms\n" +
         "    stop_at_end: " + (stop_at_end ? "true" : "false") + "\n";
}

std::string job(const std::string& source, const std::string& op, const std::string& sink,
                const std::string& dead_letters) {
  return "name: kafka_test\nparallelism: 2\n"
         "watermarks: { out_of_orderness: 1m, idle_timeout: 2s, interval: 20ms }\n"
         "dead_letter: { path: " +
         dead_letters + " }\nsources:\n" + source + "operators:\n" + op + "sinks:\n" + sink;
}

const std::string kSegments =
    "  - { id: high_intent, type: rolling_count_threshold, input: in,\n"
    "      events: [Product Viewed], window: 10m, threshold: 3 }\n";
const std::string kPassThrough =
    "  - { id: high_intent, type: filter, input: in, events: [Product Viewed, Product Added] }\n";

std::string kafka_sink(const std::string& brokers, const std::string& extra = "") {
  return "  - id: out\n    type: kafka_sink\n    input: high_intent\n    brokers: " +
         quoted(brokers) + "\n    topic: out\n" + extra;
}

std::vector<std::string> values(const std::vector<std::string>& keyed) {
  std::vector<std::string> v;
  for (const std::string& line : keyed) v.push_back(line.substr(line.find('\t') + 1));
  return v;
}

// The `out` count of the source line of segflow's closing summary.
uint64_t source_out(const std::string& log) {
  const auto at = log.find("\n  in ");
  if (at == std::string::npos) return UINT64_MAX;
  return std::stoull(log.substr(log.find(" out ", at) + 5));
}

class KafkaJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::have_kcat()) SEGFLOW_SKIP_WITHOUT("kcat is not installed (scripts/setup.sh)");
  }
  TempDir dir_;
};

// Kafka -> rolling segments -> Kafka equals the same job reading the same events from a
// file; the sink keys each change by its profile; a second run of the group reads nothing
// again (its offsets were committed).
TEST_F(KafkaJobTest, KafkaToKafkaEqualsTheFileJob) {
  MockKafkaCluster cluster({"in:4", "out:3"});
  ASSERT_FALSE(cluster.bootstrap().empty());
  const auto events = make_events(3000, 60, 7);
  write_events(events, dir_.file("in.txt"), dir_.file("in.jsonl"));
  kcat_produce(cluster.bootstrap(), "in", dir_.file("in.txt"));

  const std::string spec = dir_.file("kafka.yaml");
  write_file(spec, job(kafka_source(cluster.bootstrap(), "segments", true), kSegments,
                       kafka_sink(cluster.bootstrap()), dir_.file("dead.jsonl")));
  {
    SegflowProcess segflow(spec, dir_.file("run1.log"));
    ASSERT_EQ(segflow.wait(120s), 0) << read_file(dir_.file("run1.log"));
  }
  EXPECT_EQ(source_out(read_file(dir_.file("run1.log"))), events.size());

  // The reference: the same operator over the same events from a file.
  const std::string reference = dir_.file("file.yaml");
  write_file(reference,
             job("  - { id: in, type: file, path: " + dir_.file("in.jsonl") + " }\n", kSegments,
                 "  - { id: out, type: file_sink, input: high_intent, path: " +
                     dir_.file("expected.jsonl") + " }\n",
                 dir_.file("dead-file.jsonl")));
  {
    SegflowProcess segflow(reference, dir_.file("file.log"));
    ASSERT_EQ(segflow.wait(120s), 0) << read_file(dir_.file("file.log"));
  }
  std::vector<std::string> expected = read_lines(dir_.file("expected.jsonl"));
  const auto entered = std::count_if(expected.begin(), expected.end(), [](const auto& l) {
    return json_field(l, "event") == "entered";
  });
  ASSERT_GE(entered, 20);
  ASSERT_GE(expected.size() - entered, 20u);  // and as many exits

  const std::vector<std::string> output = kcat_read(cluster.bootstrap(), "out");
  std::map<std::string, std::string> last_time;
  for (const std::string& line : output) {
    const std::string key = line.substr(0, line.find('\t'));
    const std::string value = line.substr(line.find('\t') + 1);
    EXPECT_EQ(key, json_field(value, "profile")) << line;
    // One profile, one partition: its changes are read back in time order.
    const std::string time = json_field(value, "timestamp");
    EXPECT_LE(last_time[key], time) << line;
    last_time[key] = time;
  }
  std::vector<std::string> got = values(output);
  std::sort(got.begin(), got.end());
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(got, expected);
  EXPECT_TRUE(read_file(dir_.file("dead.jsonl")).empty());

  // Same group again: everything was committed, nothing is read or written twice.
  {
    SegflowProcess segflow(spec, dir_.file("run2.log"));
    ASSERT_EQ(segflow.wait(120s), 0) << read_file(dir_.file("run2.log"));
  }
  EXPECT_EQ(source_out(read_file(dir_.file("run2.log"))), 0u) << read_file(dir_.file("run2.log"));
  EXPECT_EQ(kcat_read(cluster.bootstrap(), "out").size(), output.size());
}

// A broker goes down while segflow runs with two group members and input keeps arriving;
// once it is back, every event has gone through, none lost.
TEST_F(KafkaJobTest, BrokerDownMidRunLosesNothing) {
  MockKafkaCluster cluster({"in:6", "out:3"});
  ASSERT_FALSE(cluster.bootstrap().empty());
  const auto first = make_events(1500, 100, 11);
  const auto second = make_events(1500, 100, 12, 1500);
  write_events(first, dir_.file("first.txt"), dir_.file("first.jsonl"));
  write_events(second, dir_.file("second.txt"), dir_.file("second.jsonl"));
  kcat_produce(cluster.bootstrap(), "in", dir_.file("first.txt"));

  const std::string spec = dir_.file("job.yaml");
  write_file(spec, job(kafka_source(cluster.bootstrap(), "passthrough", false, 2), kPassThrough,
                       kafka_sink(cluster.bootstrap()), dir_.file("dead.jsonl")));
  SegflowProcess segflow(spec, dir_.file("run.log"));
  ASSERT_TRUE(segflow.started());
  auto ids_of = [](const std::vector<Event>& events, std::set<std::string> ids) {
    for (const Event& e : events) ids.insert(json_field(e.json, "messageId"));
    return ids;
  };
  auto received = [&] {
    std::set<std::string> ids;
    for (const std::string& v : values(kcat_read(cluster.bootstrap(), "out")))
      ids.insert(json_field(v, "messageId"));
    return ids;
  };
  // Waits until every id of `wanted` is in the output (duplicates do not count twice).
  auto wait_for = [&](const std::set<std::string>& wanted) {
    for (int i = 0; i < 600; ++i) {
      const std::set<std::string> got = received();
      if (std::includes(got.begin(), got.end(), wanted.begin(), wanted.end())) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  };
  ASSERT_TRUE(wait_for(ids_of(first, {}))) << read_file(dir_.file("run.log"));

  cluster.broker_down(2);
  // kcat (-E) keeps the messages for broker 2 until it is back.
  auto producing = std::async(std::launch::async, [&] {
    kcat_produce(cluster.bootstrap(), "in", dir_.file("second.txt"));
  });
  std::this_thread::sleep_for(3s);
  cluster.broker_up(2);
  producing.get();
  const std::set<std::string> sent = ids_of(second, ids_of(first, {}));
  const bool complete = wait_for(sent);
  segflow.interrupt();
  ASSERT_EQ(segflow.wait(120s), 0) << read_file(dir_.file("run.log"));
  const std::set<std::string> got = received();
  std::vector<std::string> missing, unexpected;
  std::set_difference(sent.begin(), sent.end(), got.begin(), got.end(),
                      std::back_inserter(missing));
  std::set_difference(got.begin(), got.end(), sent.begin(), sent.end(),
                      std::back_inserter(unexpected));
  EXPECT_TRUE(complete && missing.empty())
      << missing.size() << " lost\n"
      << read_file(dir_.file("dead.jsonl")) << read_file(dir_.file("run.log"));
  EXPECT_TRUE(unexpected.empty()) << unexpected.size() << " unexpected";
  const auto output = kcat_read(cluster.bootstrap(), "out");
  // At-least-once: a redelivery would show up as a repeated message, never as a loss.
  EXPECT_GE(output.size(), sent.size());
}

// Malformed messages become dead letters with their reason and position; the rest flows.
TEST_F(KafkaJobTest, MalformedMessagesGoToTheDeadLetterOutput) {
  MockKafkaCluster cluster({"in:3", "out:3"});
  ASSERT_FALSE(cluster.bootstrap().empty());
  auto events = make_events(20, 5, 3);
  events.push_back({"u1", "not json at all"});
  events.push_back({"u2", R"({"type":"track","event":"Product Viewed","timestamp":1})"});
  events.push_back(
      {"u3", R"({"type":"track","event":"Product Viewed","userId":"u3","timestamp":"soon"})"});
  write_events(events, dir_.file("in.txt"), dir_.file("in.jsonl"));
  kcat_produce(cluster.bootstrap(), "in", dir_.file("in.txt"));

  const std::string spec = dir_.file("job.yaml");
  write_file(spec, job(kafka_source(cluster.bootstrap(), "dlq", true), kPassThrough,
                       kafka_sink(cluster.bootstrap()), dir_.file("dead.jsonl")));
  SegflowProcess segflow(spec, dir_.file("run.log"));
  ASSERT_EQ(segflow.wait(120s), 0) << read_file(dir_.file("run.log"));

  const auto dead = read_lines(dir_.file("dead.jsonl"));
  ASSERT_EQ(dead.size(), 3u) << read_file(dir_.file("run.log"));
  std::multiset<std::string> reasons;
  for (const std::string& line : dead) {
    reasons.insert(json_field(line, "reason"));
    // origin: <source id>:<topic>:<partition>:<offset>
    EXPECT_EQ(json_field(line, "origin").rfind("in:in:", 0), 0u) << line;
  }
  EXPECT_EQ(reasons, (std::multiset<std::string>{"malformed json", "missing userId and anonymousId",
                                                 "bad timestamp"}));
  const std::string log = read_file(dir_.file("run.log"));
  EXPECT_NE(log.find("dead letters: 3"), std::string::npos) << log;
  EXPECT_EQ(kcat_read(cluster.bootstrap(), "out").size(), 20u);
}

// event_time: message takes the event time from the Kafka message timestamp (here the
// time kcat produced it), so payloads need no timestamp.
TEST_F(KafkaJobTest, EventTimeFromTheMessageTimestamp) {
  MockKafkaCluster cluster({"in:2", "out:1"});
  ASSERT_FALSE(cluster.bootstrap().empty());
  std::vector<Event> events;
  for (int i = 0; i < 10; ++i)
    events.push_back({"u" + std::to_string(i % 3), R"({"type":"track","event":"Product Viewed",)"
                                                   R"("userId":"u)" +
                                                       std::to_string(i % 3) +
                                                       R"(","messageId":"m)" + std::to_string(i) +
                                                       R"("})"});
  write_events(events, dir_.file("in.txt"), dir_.file("in.jsonl"));
  kcat_produce(cluster.bootstrap(), "in", dir_.file("in.txt"));
  std::map<std::string, std::string> produced_at;  // messageId -> epoch ms
  for (const std::string& line : testing::command_lines(
           "kcat -C -q -e -o beginning -b " + cluster.bootstrap() + " -t in -f '%T\\t%s\\n'"))
    produced_at[json_field(line.substr(line.find('\t') + 1), "messageId")] =
        line.substr(0, line.find('\t'));
  ASSERT_EQ(produced_at.size(), events.size());

  const std::string spec = dir_.file("job.yaml");
  write_file(spec, job(kafka_source(cluster.bootstrap(), "message-time", true) +
                           "    event_time: message\n",
                       kPassThrough, kafka_sink(cluster.bootstrap()), dir_.file("dead.jsonl")));
  SegflowProcess segflow(spec, dir_.file("run.log"));
  ASSERT_EQ(segflow.wait(120s), 0) << read_file(dir_.file("run.log"));
  const auto output = values(kcat_read(cluster.bootstrap(), "out"));
  ASSERT_EQ(output.size(), events.size()) << read_file(dir_.file("run.log"));
  for (const std::string& v : output) {
    // The sink writes ISO-8601 UTC; compare as epoch ms.
    const std::string time = json_field(v, "timestamp");
    std::tm tm{};
    ASSERT_NE(strptime(time.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << v;
    const int64_t ms = int64_t{timegm(&tm)} * 1000 + std::stoi(time.substr(20, 3));
    EXPECT_EQ(std::to_string(ms), produced_at[json_field(v, "messageId")]) << v;
  }
}

// Records the sink cannot deliver (every broker of its cluster down) are tried `retries`
// more times, then dead-lettered: counted, never dropped silently.
TEST_F(KafkaJobTest, UndeliverableRecordsGoToTheDeadLetterOutput) {
  MockKafkaCluster input({"in:2"});
  MockKafkaCluster output({"out:1"}, 1);
  ASSERT_FALSE(input.bootstrap().empty());
  ASSERT_FALSE(output.bootstrap().empty());
  const auto events = make_events(10, 3, 5);
  write_events(events, dir_.file("in.txt"), dir_.file("in.jsonl"));
  kcat_produce(input.bootstrap(), "in", dir_.file("in.txt"));
  output.broker_down(1);

  const std::string spec = dir_.file("job.yaml");
  write_file(spec, job(kafka_source(input.bootstrap(), "undeliverable", true), kPassThrough,
                       kafka_sink(output.bootstrap(),
                                  "    retries: 1\n    properties: { message.timeout.ms: 300 }\n"),
                       dir_.file("dead.jsonl")));
  SegflowProcess segflow(spec, dir_.file("run.log"));
  ASSERT_EQ(segflow.wait(120s), 0) << read_file(dir_.file("run.log"));
  const auto dead = read_lines(dir_.file("dead.jsonl"));
  ASSERT_EQ(dead.size(), events.size()) << read_file(dir_.file("run.log"));
  std::set<std::string> ids;
  for (const std::string& line : dead) {
    EXPECT_EQ(json_field(line, "reason"), "kafka delivery failed") << line;
    EXPECT_EQ(json_field(line, "origin").rfind("out:out: ", 0), 0u) << line;
    // The payload is the undelivered record's JSON, as an escaped string.
    const auto at = line.find("messageId");
    ASSERT_NE(at, std::string::npos) << line;
    const auto id = line.find('m', at + 9);
    ids.insert(line.substr(id, line.find('\\', id) - id));
  }
  EXPECT_EQ(ids.size(), events.size());
}

}  // namespace
}  // namespace segflow

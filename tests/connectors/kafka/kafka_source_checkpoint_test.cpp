// Kafka source offsets owned by checkpoints: a segflow process reading a 6-partition topic
// of librdkafka's mock cluster with several group members (source subtasks) is killed with
// SIGKILL and restarted from its latest checkpoint at another parallelism; the exactly-once
// file sink then holds every event exactly once, and the final positions are committed to
// the consumer group.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <map>
#include <random>
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
using testing::make_events;
using testing::MockKafkaCluster;
using testing::read_file;
using testing::read_lines;
using testing::SegflowProcess;
using testing::TempDir;
using testing::write_events;
using testing::write_file;

class KafkaSourceCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::have_kcat()) SEGFLOW_SKIP_WITHOUT("kcat is not installed (scripts/setup.sh)");
  }

  // Kafka -> filter -> exactly-once file sink, checkpointed every 100 ms. A killed member
  // is dropped by the coordinator after the session timeout, so a restart waits that long.
  std::string write_job(const std::string& brokers) {
    const std::string spec = dir_.file("job.yaml");
    write_file(spec,
               "name: kafka_checkpoints\nparallelism: 1\n"
               "watermarks: { out_of_orderness: 1m, idle_timeout: 2s, interval: 20ms }\n"
               "checkpoints: { interval: 100ms, dir: " +
                   dir_.file("checkpoints") +
                   ", retain: 2 }\ndead_letter: { path: " + dir_.file("dead.jsonl") +
                   " }\n"
                   "sources:\n  - id: in\n    type: kafka\n    parallelism: 2\n"
                   "    brokers: \"" +
                   brokers +
                   "\"\n    group: eo\n    topics: [in]\n    stop_at_end: true\n"
                   "    properties: { session.timeout.ms: 10000 }\n"
                   "operators:\n  - { id: pass, type: filter, input: in, events: [Product "
                   "Viewed, Product Added] }\n"
                   "sinks:\n  - { id: out, type: file_sink, input: pass, path: " +
                   dir_.file("out.jsonl") + " }\n");
    return spec;
  }

  // Runs the job at `parallelism` (of the source) and kills it once the committed output
  // has grown past `at_least` lines, a random moment later.
  void run_and_kill(const std::string& spec, int run, uint32_t parallelism, size_t at_least,
                    std::mt19937& random) {
    const std::string log = dir_.file("run" + std::to_string(run) + ".log");
    SegflowProcess segflow(spec, log,
                           {"--set", "sources.in.parallelism=" + std::to_string(parallelism)});
    ASSERT_TRUE(segflow.started());
    for (int i = 0; i < 1200 && lines_out() <= at_least; ++i) std::this_thread::sleep_for(50ms);
    ASSERT_GT(lines_out(), at_least) << read_file(log);
    std::this_thread::sleep_for(std::chrono::milliseconds(random() % 150));
    segflow.crash();
  }

  size_t lines_out() const {
    const std::string out = dir_.file("out.jsonl");
    return std::filesystem::exists(out) ? read_lines(out).size() : 0;
  }

  TempDir dir_;
};

TEST_F(KafkaSourceCheckpointTest, KilledAndRestartedAtAnotherParallelismRepeatsAndLosesNothing) {
  MockKafkaCluster cluster({"in:6"});
  ASSERT_FALSE(cluster.bootstrap().empty());
  // Input keeps arriving while the job runs (and is killed): 120 chunks, 200 ms apart.
  std::vector<Event> events;
  std::vector<std::string> chunks;
  for (int i = 0; i < 120; ++i) {
    const std::vector<Event> chunk = make_events(500, 500, 21 + i, i * 500);
    events.insert(events.end(), chunk.begin(), chunk.end());
    chunks.push_back(dir_.file("in" + std::to_string(i) + ".txt"));
    write_events(chunk, chunks.back(), dir_.file("in.jsonl"));
  }
  auto producing = std::async(std::launch::async, [&] {
    for (const std::string& chunk : chunks) {
      kcat_produce(cluster.bootstrap(), "in", chunk);
      std::this_thread::sleep_for(200ms);
    }
  });
  const std::string spec = write_job(cluster.bootstrap());

  std::mt19937 random(5);
  run_and_kill(spec, 1, 2, 0, random);
  const size_t after_first = lines_out();
  run_and_kill(spec, 2, 3, after_first, random);
  producing.get();  // the last run reads to the end of the input
  {
    SegflowProcess segflow(spec, dir_.file("run3.log"), {"--set", "sources.in.parallelism=1"});
    ASSERT_EQ(segflow.wait(180s), 0) << read_file(dir_.file("run3.log"));
  }
  for (const char* log : {"run2.log", "run3.log"})
    EXPECT_NE(read_file(dir_.file(log)).find("restoring checkpoint"), std::string::npos)
        << log << ": " << read_file(dir_.file(log));

  std::map<std::string, int> seen;
  for (const std::string& line : read_lines(dir_.file("out.jsonl")))
    ++seen[json_field(line, "messageId")];
  size_t missing = 0, repeated = 0;
  for (const Event& e : events) {
    const int n = seen[json_field(e.json, "messageId")];
    missing += n == 0;
    repeated += n > 1;
  }
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(repeated, 0u);
  EXPECT_EQ(read_lines(dir_.file("out.jsonl")).size(), events.size());

  // The group's committed offsets are the end of every partition: a group member started
  // now reads only what is produced after the job (and would read everything, with
  // auto.offset.reset=earliest, had nothing been committed).
  const std::vector<Event> later = make_events(50, 5, 22, 60000);
  write_events(later, dir_.file("later.txt"), dir_.file("later.jsonl"));
  kcat_produce(cluster.bootstrap(), "in", dir_.file("later.txt"));
  const auto read = testing::command_lines("kcat -C -q -e -b " + cluster.bootstrap() +
                                           " -G eo -X auto.offset.reset=earliest -f '%s\\n' in");
  EXPECT_EQ(read.size(), later.size());
}

}  // namespace
}  // namespace segflow

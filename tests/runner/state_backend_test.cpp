// Every stateful operator gives the same output on the rocksdb state backend as on the
// heap: the example jobs run twice at parallelism 2, once with heap state and once with
// rocksdb behind a cache of 16 entries per state (a profile's state is written to the
// database and read back at almost every event, so each operator's state encoding and
// its timers' keys go through RocksDB). Output lines are compared as sorted lists.
// Covered: `segments` (jobs/retail.yaml, every rule kind), `window` sliding and session,
// `rolling` with and without `forward` (jobs/windows_example.yaml), `identity` with
// profile merges moving `rolling_count_threshold` state (jobs/identity_example.yaml).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace segflow {
namespace {

enum class Backend { kHeap, kRocksDb };

// Each sink's lines, sorted, by sink id.
using Outputs = std::vector<std::pair<std::string, std::vector<std::string>>>;

// Runs `job` (a parsed example job, sinks replaced by one file_sink per operator) on
// `backend` in `dir`; the sorted lines of each sink.
Outputs run_on(YAML::Node job, Backend backend, const testing::TempDir& dir) {
  const std::string tag = backend == Backend::kHeap ? "heap" : "rocksdb";
  job["dead_letter"]["path"] = dir.file(tag + "-dead.jsonl");
  YAML::Node sinks(YAML::NodeType::Sequence);
  for (YAML::Node op : job["operators"]) {
    if (op["type"].as<std::string>() == "segments") op["emitted_at"] = false;
    YAML::Node sink;
    sink["id"] = op["id"].as<std::string>() + "_out";
    sink["type"] = "file_sink";
    sink["input"] = op["id"];
    sink["path"] = dir.file(tag + "-" + op["id"].as<std::string>() + ".jsonl");
    sinks.push_back(sink);
  }
  job["sinks"] = sinks;
  if (backend == Backend::kRocksDb) {
    job["state_backend"]["type"] = "rocksdb";
    job["state_backend"]["dir"] = dir.file("state");
    job["state_backend"]["cache_entries"] = 16;  // the least allowed
  }
  YAML::Emitter emitter;
  emitter << job;
  const std::string spec = dir.file(tag + "-job.yaml");
  testing::write_file(spec, emitter.c_str());
  const std::string log = dir.file(tag + "-stderr.txt");
  const int status = std::system(
      (std::string(SEGFLOW_BINARY) + " run " + spec + " --set parallelism=2 > /dev/null 2> " + log)
          .c_str());
  EXPECT_EQ(status, 0) << tag << ": " << testing::read_file(log);
  Outputs outputs;
  for (const auto& sink : sinks) {
    std::vector<std::string> lines = testing::read_lines(sink["path"].as<std::string>());
    std::sort(lines.begin(), lines.end());
    outputs.emplace_back(sink["id"].as<std::string>(), std::move(lines));
  }
  return outputs;
}

YAML::Node example_job(const std::string& name) {
  return YAML::LoadFile(std::string(SEGFLOW_SOURCE_DIR) + "/jobs/" + name);
}

// Runs `job` on both backends and expects the same lines from every sink, and at least
// `min_lines` from each (so the comparison is not of empty files).
void expect_same_output_on_both_backends(const YAML::Node& job, size_t min_lines) {
  if (!SEGFLOW_HAVE_ROCKSDB) SEGFLOW_SKIP_WITHOUT("RocksDB (librocksdb-dev) not built in");
  testing::TempDir dir;
  const Outputs heap = run_on(YAML::Clone(job), Backend::kHeap, dir);
  const Outputs rocksdb = run_on(YAML::Clone(job), Backend::kRocksDb, dir);
  ASSERT_EQ(heap.size(), rocksdb.size());
  for (size_t i = 0; i < heap.size(); ++i) {
    SCOPED_TRACE(heap[i].first);
    EXPECT_GE(heap[i].second.size(), min_lines);
    EXPECT_EQ(heap[i].second.size(), rocksdb[i].second.size());
    EXPECT_TRUE(heap[i].second == rocksdb[i].second);
  }
}

TEST(StateBackendTest, RetailSegmentsOnRocksDbEqualTheHeap) {
  YAML::Node job = example_job("retail.yaml");
  job["sources"][0]["events"] = 20000;
  job["sources"][0]["users"] = 300;
  expect_same_output_on_both_backends(job, 500);
}

TEST(StateBackendTest, WindowsAndRollingTraitsOnRocksDbEqualTheHeap) {
  YAML::Node job = example_job("windows_example.yaml");
  job["sources"][0]["path"] = std::string(SEGFLOW_DATA_DIR) +
                              "/rees46-ecommerce-behavior/rees46_2019-Oct_first_17k_events.csv";
  // A session window too: its merging windows are state of their own.
  YAML::Node sessions = YAML::Clone(job["operators"][0]);
  sessions["id"] = "sessions";
  sessions["window"] = YAML::Load("{ kind: session, gap: 5m }");
  job["operators"].push_back(sessions);
  expect_same_output_on_both_backends(job, 100);
}

TEST(StateBackendTest, IdentityMergesOnRocksDbEqualTheHeap) {
  YAML::Node job = example_job("identity_example.yaml");
  job["sources"][0]["events"] = 20000;
  job["sources"][0]["users"] = 300;
  for (YAML::Node op : job["operators"])
    if (op["merge_log"]) op.remove("merge_log");
  expect_same_output_on_both_backends(job, 50);
}

}  // namespace
}  // namespace segflow

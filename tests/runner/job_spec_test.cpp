// Job-spec loading: every mistake is reported at load with file:line:column.
#include "runner/job_spec.h"

#include <gtest/gtest.h>

#include "engine/spec_error.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

constexpr const char* kValid = R"(name: test
parallelism: 2
watermarks:
  out_of_orderness: 5s
sources:
  - id: events
    type: generator
    users: 10
    events: 100
operators:
  - id: views
    type: filter
    input: events
    events: [Product Viewed]
sinks:
  - id: out
    type: stdout
    input: views
)";

// Loads `yaml` and returns the error text ("no error" when it loads).
std::string error_of(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return testing::spec_error_of([&] { parse_job_spec(yaml, "job.yaml", overrides); });
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return text.replace(pos, from.size(), to);
}

TEST(JobSpecTest, LoadsAValidSpec) {
  const JobSpec spec = parse_job_spec(kValid, "job.yaml");
  EXPECT_EQ(spec.settings.name, "test");
  EXPECT_EQ(spec.settings.parallelism, 2u);
  EXPECT_EQ(spec.settings.out_of_orderness_ms, 5000);
  ASSERT_EQ(spec.graph.nodes().size(), 3u);
  const LogicalNode& views = spec.graph.nodes()[1];
  EXPECT_EQ(views.parallelism, 2u);
  // The generator has parallelism 1, the filter 2: an implicit forward edge rebalances.
  EXPECT_EQ(views.inputs[0].partitioning, Partitioning::kRebalance);
  EXPECT_EQ(spec.graph.nodes()[2].parallelism, 1u);  // sinks default to one subtask
}

TEST(JobSpecTest, UnknownKeyIsAnError) {
  EXPECT_EQ(error_of(replace(kValid, "parallelism: 2", "paralelism: 2")),
            "job.yaml:2:1: unknown key 'paralelism'");
  EXPECT_EQ(error_of(replace(kValid, "    users: 10", "    userz: 10")),
            "job.yaml:8:5: sources[0]: unknown key 'userz'");
}

TEST(JobSpecTest, WrongTypeIsAnError) {
  EXPECT_EQ(error_of(replace(kValid, "parallelism: 2", "parallelism: many")),
            "job.yaml:2:14: parallelism: expected an integer, found 'many'");
  EXPECT_EQ(error_of(replace(kValid, "out_of_orderness: 5s", "out_of_orderness: soon")),
            "job.yaml:4:21: watermarks.out_of_orderness: expected a duration such as 500ms, 10s, "
            "5m, 2h or 30d, found 'soon'");
}

TEST(JobSpecTest, WatermarkInterval) {
  EXPECT_EQ(parse_job_spec(kValid, "job.yaml").settings.watermark_interval_ms, 50);
  const std::string with =
      replace(kValid, "out_of_orderness: 5s", "out_of_orderness: 5s\n  interval: 0ms");
  EXPECT_EQ(parse_job_spec(with, "job.yaml").settings.watermark_interval_ms, 0);
  EXPECT_EQ(parse_job_spec(kValid, "job.yaml", {"watermarks.interval=200ms"})
                .settings.watermark_interval_ms,
            200);
  EXPECT_EQ(error_of(replace(with, "interval: 0ms", "interval: -1ms")),
            "job.yaml:5:13: watermarks.interval: expected a duration such as 500ms, 10s, 5m, 2h "
            "or 30d, found '-1ms'");
  EXPECT_EQ(error_of(replace(with, "interval: 0ms", "interval: often")),
            "job.yaml:5:13: watermarks.interval: expected a duration such as 500ms, 10s, 5m, 2h "
            "or 30d, found 'often'");
}

TEST(JobSpecTest, CheckpointsSection) {
  const std::string with =
      replace(kValid, "sources:", "checkpoints: { interval: 10s, dir: ck }\nsources:");
  const JobSpec spec = parse_job_spec(with, "job.yaml");
  EXPECT_EQ(spec.settings.checkpoints.interval_ms, 10'000);
  EXPECT_EQ(spec.settings.checkpoints.dir, "ck");
  EXPECT_EQ(spec.settings.checkpoints.retain, 3u);
  EXPECT_FALSE(parse_job_spec(kValid, "job.yaml").settings.checkpoints.enabled());
  EXPECT_EQ(error_of(replace(with, "dir: ck", "dir: ck, retain: 0")),
            "job.yaml:5:48: checkpoints.retain: must be between 1 and 1000, found 0");
  EXPECT_EQ(error_of(replace(with, "interval: 10s, ", "")),
            "job.yaml:5:14: checkpoints: missing required field 'interval'");
  EXPECT_EQ(error_of(replace(with, "dir: ck", "dir: ck, every: 1s")),
            "job.yaml:5:40: checkpoints: unknown key 'every'");
}

TEST(JobSpecTest, StateBackendSection) {
  EXPECT_FALSE(parse_job_spec(kValid, "job.yaml").settings.state_backend.rocksdb);
  const auto with = [](const std::string& backend) {
    return replace(kValid, "sources:", "state_backend: " + backend + "\nsources:");
  };
  EXPECT_FALSE(parse_job_spec(with("heap"), "job.yaml").settings.state_backend.rocksdb);
  EXPECT_EQ(error_of(with("disk")),
            "job.yaml:5:16: state_backend: unknown state backend 'disk' (heap or rocksdb)");
  EXPECT_EQ(error_of(with("rocksdb")),
            "job.yaml:5:16: state_backend: rocksdb needs a directory: {type: rocksdb, dir: PATH}");
  EXPECT_EQ(error_of(with("{ type: heap, dir: x }")),
            "job.yaml:5:30: state_backend: unknown key 'dir'");
  if (!SEGFLOW_HAVE_ROCKSDB) {
    EXPECT_EQ(error_of(with("{ type: rocksdb, dir: st }")),
              "job.yaml:5:24: state_backend.type: this segflow was built without RocksDB "
              "(librocksdb-dev)");
    return;
  }
  const StateBackendSettings rocksdb =
      parse_job_spec(with("{ type: rocksdb, dir: st, cache_entries: 5000 }"), "job.yaml")
          .settings.state_backend;
  EXPECT_TRUE(rocksdb.rocksdb);
  EXPECT_EQ(rocksdb.dir, "st");
  EXPECT_EQ(rocksdb.cache_entries, 5000u);
  EXPECT_EQ(error_of(with("{ type: rocksdb }")),
            "job.yaml:5:16: state_backend: missing required field 'dir'");
  EXPECT_EQ(error_of(with("{ type: rocksdb, dir: st, cache_entries: 2 }")),
            "job.yaml:5:57: state_backend.cache_entries: must be between 16 and 4294967296, "
            "found 2");
}

TEST(JobSpecTest, MissingFieldIsAnError) {
  EXPECT_EQ(error_of(replace(kValid, "    type: filter\n", "")),
            "job.yaml:11:5: operators[0]: missing required field 'type'");
  EXPECT_EQ(error_of(replace(kValid, "    input: events\n", "")),
            "job.yaml:11:5: operators[0]: missing required field 'input'");
}

TEST(JobSpecTest, UnknownOperatorTypeIsAnError) {
  const std::string e = error_of(replace(kValid, "type: filter", "type: filtre"));
  EXPECT_EQ(
      e.rfind("job.yaml:12:11: operators[0].type: unknown operator type 'filtre' (known: ", 0), 0u)
      << e;
  EXPECT_NE(e.find("filter"), std::string::npos);
}

TEST(JobSpecTest, EdgeToNowhereIsAnError) {
  EXPECT_EQ(error_of(replace(kValid, "input: events", "input: evnts")),
            "job.yaml:11:5: 'views': input 'evnts' is not defined");
}

TEST(JobSpecTest, CycleIsAnError) {
  const std::string cyclic =
      replace(kValid, "    input: events\n    events: [Product Viewed]\n",
              "    inputs: [events, again]\n    events: [Product Viewed]\n"
              "  - id: again\n    type: filter\n    input: views\n    events: [x]\n");
  EXPECT_NE(error_of(cyclic).find("is part of a cycle"), std::string::npos) << error_of(cyclic);
}

TEST(JobSpecTest, InvalidYamlNamesTheLine) {
  EXPECT_EQ(error_of("name: x\nsources: [\n"),
            "job.yaml:3:1: invalid YAML: end of sequence flow not found");
}

TEST(JobSpecTest, ExplicitForwardBetweenParallelismsIsAnError) {
  const std::string e = error_of(
      replace(kValid, "    input: events\n", "    input: events\n    partition: forward\n"));
  EXPECT_NE(e.find("forward input 'events' has parallelism 1 but this has 2"), std::string::npos)
      << e;
}

TEST(JobSpecTest, SingleSubtaskOperatorsRunAsOneSubtask) {
  const std::string with_identity = replace(
      kValid, "operators:\n", "operators:\n  - id: ids\n    type: identity\n    input: events\n");
  const JobSpec spec = parse_job_spec(with_identity, "job.yaml");
  EXPECT_EQ(spec.graph.nodes()[spec.graph.find("ids")].parallelism, 1u);
  EXPECT_EQ(error_of(replace(with_identity, "    type: identity\n",
                             "    type: identity\n    parallelism: 2\n")),
            "job.yaml:13:18: operators[0].parallelism: 'identity' runs as one subtask: "
            "parallelism must be 1");
}

TEST(JobSpecTest, OverridesSetValuesByPathAndId) {
  const JobSpec spec =
      parse_job_spec(kValid, "job.yaml", {"parallelism=4", "operators.views.parallelism=3"});
  EXPECT_EQ(spec.settings.parallelism, 4u);
  EXPECT_EQ(spec.graph.nodes()[1].parallelism, 3u);
  EXPECT_EQ(error_of(kValid, {"sources.nothere.seed=1"}),
            "--set sources.nothere.seed: no list element 'nothere'");
  EXPECT_EQ(error_of(kValid, {"parallelism"}), "--set parallelism: expected key.path=value");
}

}  // namespace
}  // namespace segflow

// The shipped REES46 replay job against a SQL oracle: sqlite3 (run by the test) computes,
// from the raw CSV, every instant a user's count of views in the last 10 minutes crosses 3
// in either direction; segflow's entered/exited records must be exactly that set, at
// parallelism 1, 2 and 4.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "runner/job_runner.h"
#include "runner/job_spec.h"
#include "tests/support/run_job_quietly.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

const std::string kCsv = std::string(SEGFLOW_DATA_DIR) +
                         "/rees46-ecommerce-behavior/rees46_2019-Oct_first_17k_events.csv";

// "event,profile,timestamp,count" lines computed by sqlite3.
std::vector<std::string> oracle(const testing::TempDir& tmp) {
  const std::string script = tmp.file("oracle.sql");
  testing::write_file(script, R"(.mode csv
.import ')" + kCsv + R"(' raw
CREATE TABLE v AS SELECT user_id AS u,
  CAST(strftime('%s', substr(event_time, 1, 19)) AS INTEGER) AS t FROM raw WHERE event_type = 'view';
CREATE INDEX vi ON v(u, t);
CREATE TABLE cand AS SELECT DISTINCT u, t FROM v UNION SELECT DISTINCT u, t + 600 FROM v;
SELECT CASE WHEN c > 3 THEN 'entered' ELSE 'exited' END, u,
       strftime('%Y-%m-%dT%H:%M:%S.000Z', t, 'unixepoch'), c
FROM (SELECT u, t,
        (SELECT COUNT(*) FROM v b WHERE b.u = cand.u AND b.t > cand.t - 600 AND b.t <= cand.t) AS c,
        (SELECT COUNT(*) FROM v b WHERE b.u = cand.u AND b.t >= cand.t - 600 AND b.t < cand.t) AS cb
      FROM cand)
WHERE (c > 3) != (cb > 3);
)");
  std::vector<std::string> lines;
  std::istringstream in(testing::run_command("sqlite3 :memory: < " + script));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST(Rees46OracleTest, SegmentChangesMatchSql) {
  ASSERT_TRUE(std::filesystem::exists(kCsv)) << kCsv;
  testing::TempDir tmp;
  const auto expected = oracle(tmp);
  ASSERT_GT(expected.size(), 100u);  // the slice has hundreds of crossings
  for (int parallelism : {1, 2, 4}) {
    SCOPED_TRACE("parallelism " + std::to_string(parallelism));
    const JobSpec spec = load_job_spec(
        std::string(SEGFLOW_SOURCE_DIR) + "/jobs/rees46_replay.yaml",
        {"parallelism=" + std::to_string(parallelism), "sources.clicks.path=" + kCsv,
         "sinks.out.path=" + tmp.file("out.jsonl"), "dead_letter.path=" + tmp.file("dead.jsonl")});
    const RunResult result = testing::run_job_quietly(spec);
    EXPECT_EQ(result.source_records, 17'434u);
    EXPECT_EQ(result.dead_letters, 0u);
    std::vector<std::string> actual;
    for (const std::string& line : testing::read_lines(tmp.file("out.jsonl")))
      actual.push_back(
          testing::json_field(line, "event") + "," + testing::json_field(line, "profile") + "," +
          testing::json_field(line, "timestamp") + "," + testing::json_field(line, "count"));
    std::sort(actual.begin(), actual.end());
    EXPECT_EQ(actual, expected);
  }
}

}  // namespace
}  // namespace segflow

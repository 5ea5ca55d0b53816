// `type: rolling` against a SQL oracle: sqlite3 (run by the test) computes, from the raw
// REES46 CSV, every instant a user's count / min / max price of views in the last 10
// minutes changes; segflow's records must be exactly that set, at parallelism 1 and 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "runner/job_runner.h"
#include "runner/job_spec.h"
#include "tests/support/run_job_quietly.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

const std::string kCsv = std::string(SEGFLOW_DATA_DIR) +
                         "/rees46-ecommerce-behavior/rees46_2019-Oct_first_17k_events.csv";

// A number as both sides print it: integers plain, others with 2 decimals; null as "".
std::string norm(const std::string& text) {
  if (text.empty() || text == "null") return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", std::stod(text));
  return buf;
}

TEST(RollingOracleTest, Rees46ViewsInTheLast10MinutesMatchSql) {
  ASSERT_TRUE(std::filesystem::exists(kCsv)) << kCsv;
  testing::TempDir tmp;
  testing::write_file(tmp.file("oracle.sql"), R"(.mode csv
.import ')" + kCsv + R"(' raw
CREATE TABLE v AS SELECT user_id AS u, CAST(price AS REAL) AS p,
  CAST(strftime('%s', substr(event_time, 1, 19)) AS INTEGER) AS t FROM raw WHERE event_type = 'view';
CREATE INDEX vi ON v(u, t);
CREATE TABLE cand AS SELECT DISTINCT u, t FROM v UNION SELECT DISTINCT u, t + 600 FROM v;
SELECT u, strftime('%Y-%m-%dT%H:%M:%S.000Z', t, 'unixepoch'), c, lo, hi FROM (
  SELECT u, t,
    (SELECT COUNT(*) FROM v b WHERE b.u = cand.u AND b.t > cand.t - 600 AND b.t <= cand.t) AS c,
    (SELECT MIN(p) FROM v b WHERE b.u = cand.u AND b.t > cand.t - 600 AND b.t <= cand.t) AS lo,
    (SELECT MAX(p) FROM v b WHERE b.u = cand.u AND b.t > cand.t - 600 AND b.t <= cand.t) AS hi,
    (SELECT COUNT(*) FROM v b WHERE b.u = cand.u AND b.t >= cand.t - 600 AND b.t < cand.t) AS cb,
    (SELECT MIN(p) FROM v b WHERE b.u = cand.u AND b.t >= cand.t - 600 AND b.t < cand.t) AS lob,
    (SELECT MAX(p) FROM v b WHERE b.u = cand.u AND b.t >= cand.t - 600 AND b.t < cand.t) AS hib
  FROM cand)
WHERE c != cb OR lo IS NOT lob OR hi IS NOT hib;
)");
  std::vector<std::string> expected;
  std::istringstream in(testing::run_command("sqlite3 :memory: < " + tmp.file("oracle.sql")));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    if (line.ends_with(",")) f.emplace_back();
    ASSERT_EQ(f.size(), 5u) << line;
    expected.push_back(f[0] + "," + f[1] + "," + f[2] + "," + norm(f[3]) + "," + norm(f[4]));
  }
  std::sort(expected.begin(), expected.end());
  ASSERT_GT(expected.size(), 1000u);

  const std::string job = tmp.file("job.yaml");
  testing::write_file(
      job,
      "name: rolling\nwatermarks: {out_of_orderness: 0s}\n"
      "sources:\n  - id: in\n    type: file\n    path: " +
          kCsv +
          "\n"
          "    csv:\n      key: user_id\n"
          "      event: { column: event_type, map: { view: Product Viewed } }\n"
          "      timestamp: { column: event_time, format: \"%Y-%m-%d %H:%M:%S UTC\" }\n"
          "      properties: { price: price }\n"
          "operators:\n  - id: views_10m\n    type: rolling\n    input: in\n"
          "    window: 10m\n    events: [Product Viewed]\n    traits:\n"
          "      - {name: views, fn: count}\n"
          "      - {name: lo, fn: min, property: properties.price}\n"
          "      - {name: hi, fn: max, property: properties.price}\n"
          "sinks:\n  - {id: out, type: file_sink, input: views_10m, path: " +
          tmp.file("out.jsonl") + "}\n");
  for (int parallelism : {1, 2}) {
    SCOPED_TRACE("parallelism " + std::to_string(parallelism));
    const RunResult result = testing::run_job_quietly(
        load_job_spec(job, {"parallelism=" + std::to_string(parallelism),
                            "dead_letter.path=" + tmp.file("dead.jsonl")}));
    EXPECT_EQ(result.dead_letters, 0u);
    std::vector<std::string> actual;
    for (const std::string& line : testing::read_lines(tmp.file("out.jsonl")))
      actual.push_back(
          testing::json_field(line, "profile") + "," + testing::json_field(line, "timestamp") +
          "," + testing::json_field(line, "views") + "," + norm(testing::json_field(line, "lo")) +
          "," + norm(testing::json_field(line, "hi")));
    std::sort(actual.begin(), actual.end());
    EXPECT_EQ(actual.size(), expected.size());
    EXPECT_TRUE(actual == expected);
  }
}

}  // namespace
}  // namespace segflow

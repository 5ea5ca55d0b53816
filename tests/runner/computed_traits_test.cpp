// Computed traits feeding segment rules: a `rolling` operator (forward: true) puts
// computed.views_10m on every REES46 event and emits its changes; a `segments` operator
// downstream enters/exits `engaged` on the profile condition computed.views_10m >= 3.
// sqlite3 (run by the test) computes from the raw CSV the views in the last 10 minutes at
// every instant one enters or leaves; the entered/exited records must be exactly its
// crossings of 3, at parallelism 1 and 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "runner/job_runner.h"
#include "runner/job_spec.h"
#include "tests/support/run_job_quietly.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

const std::string kCsv = std::string(SEGFLOW_DATA_DIR) +
                         "/rees46-ecommerce-behavior/rees46_2019-Oct_first_17k_events.csv";

TEST(ComputedTraitsTest, RollingTraitFeedsASegmentRuleExactlyAsSqlCounts) {
  ASSERT_TRUE(std::filesystem::exists(kCsv)) << kCsv;
  testing::TempDir tmp;
  testing::write_file(tmp.file("oracle.sql"), R"(.mode csv
.import ')" + kCsv + R"(' raw
CREATE TABLE v AS SELECT user_id AS u,
  CAST(strftime('%s', substr(event_time, 1, 19)) AS INTEGER) AS t FROM raw WHERE event_type = 'view';
CREATE INDEX vi ON v(u, t);
CREATE TABLE cand AS SELECT DISTINCT u, t FROM v UNION SELECT DISTINCT u, t + 600 FROM v;
SELECT u, strftime('%Y-%m-%dT%H:%M:%S.000Z', t, 'unixepoch'),
  (SELECT COUNT(*) FROM v b WHERE b.u = cand.u AND b.t > cand.t - 600 AND b.t <= cand.t)
FROM cand ORDER BY u, t;
)");
  // (profile, time) -> entered/exited, from the counts at every instant, in time order.
  std::vector<std::string> expected;
  std::map<std::string, bool> inside;
  std::istringstream in(testing::run_command("sqlite3 :memory: < " + tmp.file("oracle.sql")));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    ASSERT_EQ(f.size(), 3u) << line;
    const bool engaged = std::stoi(f[2]) >= 3;
    if (engaged != inside[f[0]])
      expected.push_back(f[0] + "," + f[1] + "," + (engaged ? "entered" : "exited"));
    inside[f[0]] = engaged;
  }
  std::sort(expected.begin(), expected.end());
  ASSERT_GT(expected.size(), 100u);

  const std::string job = tmp.file("job.yaml");
  testing::write_file(job,
                      "name: computed_traits\nwatermarks: {out_of_orderness: 0s}\n"
                      "sources:\n  - id: in\n    type: file\n    path: " +
                          kCsv +
                          "\n"
                          "    csv:\n      key: user_id\n"
                          "      event: { column: event_type, map: { view: Product Viewed } }\n"
                          "      timestamp: { column: event_time, format: \"%Y-%m-%d %H:%M:%S "
                          "UTC\" }\n"
                          "      properties: { price: price }\n"
                          "operators:\n"
                          "  - id: traits\n    type: rolling\n    input: in\n"
                          "    window: 10m\n    forward: true\n    traits:\n"
                          "      - {name: views_10m, fn: count, events: [Product Viewed]}\n"
                          "      - {name: top_price_10m, fn: max, property: properties.price}\n"
                          "  - id: segments\n    type: segments\n    input: traits\n"
                          "    emitted_at: false\n    segments:\n"
                          "      - name: engaged\n"
                          "        enter: {profile: \"computed.views_10m >= 3\"}\n"
                          "sinks:\n  - {id: out, type: file_sink, input: segments, path: " +
                          tmp.file("out.jsonl") + "}\n");
  for (int parallelism : {1, 2}) {
    SCOPED_TRACE("parallelism " + std::to_string(parallelism));
    const RunResult result = testing::run_job_quietly(
        load_job_spec(job, {"parallelism=" + std::to_string(parallelism),
                            "dead_letter.path=" + tmp.file("dead.jsonl")}));
    EXPECT_EQ(result.dead_letters, 0u);
    std::vector<std::string> actual;
    for (const std::string& line : testing::read_lines(tmp.file("out.jsonl"))) {
      ASSERT_EQ(testing::json_field(line, "segment"), "engaged") << line;
      actual.push_back(testing::json_field(line, "profile") + "," +
                       testing::json_field(line, "timestamp") + "," +
                       testing::json_field(line, "change"));
    }
    std::sort(actual.begin(), actual.end());
    EXPECT_EQ(actual.size(), expected.size());
    EXPECT_TRUE(actual == expected);
  }
}

}  // namespace
}  // namespace segflow

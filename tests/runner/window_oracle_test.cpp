// `type: window` against a SQL oracle: sqlite3 (run by the test) assigns the same rows to
// tumbling, sliding and session windows with SQL and aggregates them; every (profile,
// window, aggregate) segflow emits must match (count distinct exactly, and within the
// documented error of its sketch past exact_limit), at parallelism 1 and 2. Data: the REES46 and
// Taobao slices in ../shared/data, and a generated CSV with out-of-order rows within the
// watermark bound plus rows far behind it (late: dead letters, not counted).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "runner/job_runner.h"
#include "runner/job_spec.h"
#include "tests/support/run_job_quietly.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

const std::string kRees46 = std::string(SEGFLOW_DATA_DIR) +
                            "/rees46-ecommerce-behavior/rees46_2019-Oct_first_17k_events.csv";
const std::string kTaobao =
    std::string(SEGFLOW_DATA_DIR) + "/taobao-userbehavior/taobao_userbehavior_users_part1.csv";

struct Window {
  std::string kind;  // tumbling, sliding, session
  int64_t size_ms = 0, slide_ms = 0, gap_ms = 0;
  std::string yaml() const {
    if (kind == "session") return "{kind: session, gap: " + std::to_string(gap_ms) + "}";
    return "{kind: " + kind + ", size: " + std::to_string(size_ms) +
           (kind == "sliding" ? ", slide: " + std::to_string(slide_ms) : "") + "}";
  }
};

// One data set: how sqlite3 builds table ev(rid, u, t, p) (t in ms, p the value) and how
// segflow reads the same file.
struct DataSet {
  std::string name;
  std::string sql_load;  // creates ev
  std::string source_yaml;
  std::string event;  // the event name the window counts
  std::string out_of_orderness = "0s";
  uint64_t late_rows = 0;
};

// SQL NULL (empty in sqlite's CSV) and JSON null are NaN.
double number(const std::string& text) {
  return text.empty() || text == "null" ? std::nan("") : std::stod(text);
}

// (profile|start|end) -> n, total, lo, hi, mean, first, last, d, d_approx, big, big_sum
using Results = std::map<std::string, std::vector<double>>;

std::string assignment_sql(const Window& w) {
  if (w.kind == "session") {
    const std::string gap = std::to_string(w.gap_ms);
    return "CREATE TABLE s1 AS SELECT *, CASE WHEN t - LAG(t) OVER (PARTITION BY u ORDER BY t, "
           "rid) > " +
           gap +
           " THEN 1 ELSE 0 END AS brk FROM ev;\n"
           "CREATE TABLE s2 AS SELECT *, SUM(brk) OVER (PARTITION BY u ORDER BY t, rid ROWS "
           "UNBOUNDED PRECEDING) AS g FROM s1;\n"
           "CREATE TABLE asg AS SELECT u, g, MIN(t) OVER (PARTITION BY u, g) AS ws, MAX(t) OVER "
           "(PARTITION BY u, g) + " +
           gap + " AS we, t, rid, p FROM s2;\n";
  }
  const int64_t slide = w.kind == "sliding" ? w.slide_ms : w.size_ms;
  const std::string size = std::to_string(w.size_ms), sl = std::to_string(slide);
  return "CREATE TABLE k AS WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n "
         "WHERE i + 1 < " +
         std::to_string((w.size_ms + slide - 1) / slide) +
         ") SELECT i FROM n;\n"
         "CREATE TABLE asg AS SELECT u, ws AS g, ws, ws + " +
         size +
         " AS we, t, rid, p FROM "
         "(SELECT u, t, rid, p, (t / " +
         sl + ") * " + sl + " - i * " + sl +
         " AS ws FROM ev, k) "
         "WHERE ws > t - " +
         size + ";\n";
}

Results oracle(const testing::TempDir& tmp, const DataSet& data, const Window& w) {
  const std::string script = tmp.file("oracle.sql");
  testing::write_file(script, ".mode csv\n" + data.sql_load + assignment_sql(w) + R"(
SELECT u, ws, we, COUNT(*), SUM(p), MIN(p), MAX(p), AVG(p), MAX(fv), MAX(lv),
       COUNT(DISTINCT p), COUNT(DISTINCT p), COUNT(CASE WHEN p > 100 THEN 1 END),
       SUM(CASE WHEN p >= 100 THEN p END) FROM (
  SELECT *, FIRST_VALUE(p) OVER (PARTITION BY u, g ORDER BY t, rid) AS fv,
            FIRST_VALUE(p) OVER (PARTITION BY u, g ORDER BY t DESC, rid DESC) AS lv FROM asg)
GROUP BY u, g;
)");
  Results r;
  std::istringstream in(testing::run_command("sqlite3 :memory: < " + script));
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, ',');) f.push_back(cell);
    if (line.ends_with(",")) f.emplace_back();  // a trailing NULL
    EXPECT_EQ(f.size(), 14u) << line;
    if (f.size() != 14) continue;
    std::vector<double>& v = r[f[0] + "|" + f[1] + "|" + f[2]];
    for (size_t i = 3; i < 14; ++i) v.push_back(number(f[i]));
  }
  return r;
}

Results run_segflow(const testing::TempDir& tmp, const DataSet& data, const Window& w,
                    int parallelism, uint64_t* dead_letters) {
  const std::string job = tmp.file("job.yaml");
  testing::write_file(
      job, "name: oracle\nparallelism: " + std::to_string(parallelism) +
               "\nbatch_size: 16\nwatermarks: {out_of_orderness: " + data.out_of_orderness +
               ", interval: 0ms}\n"
               "dead_letter: {path: " +
               tmp.file("dead.jsonl") +
               "}\n"
               "sources:\n" +
               data.source_yaml +
               "operators:\n  - id: w\n    type: window\n    input: in\n"
               "    window: " +
               w.yaml() + "\n    events: [\"" + data.event +
               "\"]\n    aggregates:\n"
               "      - {name: n, fn: count}\n"
               "      - {name: total, fn: sum, property: properties.p}\n"
               "      - {name: lo, fn: min, property: properties.p}\n"
               "      - {name: hi, fn: max, property: properties.p}\n"
               "      - {name: mean, fn: avg, property: properties.p}\n"
               "      - {name: first, fn: first, property: properties.p}\n"
               "      - {name: last, fn: last, property: properties.p}\n"
               "      - {name: d, fn: count_distinct, property: properties.p}\n"
               "      - {name: d_approx, fn: count_distinct, property: properties.p, "
               "exact_limit: 4}\n"
               "      - {name: big, fn: count, where: 'properties.p > 100'}\n"
               "      - {name: big_sum, fn: sum, property: properties.p, where: 'properties.p >= "
               "100'}\n"
               "sinks:\n  - {id: out, type: file_sink, input: w, path: " +
               tmp.file("out.jsonl") + "}\n");
  const RunResult result = testing::run_job_quietly(load_job_spec(job, {}));
  *dead_letters = result.dead_letters;
  Results r;
  for (const std::string& line : testing::read_lines(tmp.file("out.jsonl"))) {
    const std::string key = testing::json_field(line, "profile") + "|" +
                            testing::json_field(line, "window_start") + "|" +
                            testing::json_field(line, "window_end");
    EXPECT_EQ(r.count(key), 0u) << "fired twice: " << line;
    std::vector<double>& v = r[key];
    for (const char* name :
         {"n", "total", "lo", "hi", "mean", "first", "last", "d", "d_approx", "big", "big_sum"})
      v.push_back(number(testing::json_field(line, name)));
  }
  return r;
}

void expect_same(const Results& expected, const Results& actual) {
  EXPECT_EQ(expected.size(), actual.size());
  size_t mismatches = 0;
  for (const auto& [key, want] : expected) {
    const auto it = actual.find(key);
    if (it == actual.end()) {
      if (++mismatches <= 5) ADD_FAILURE() << "missing window " << key;
      continue;
    }
    for (size_t i = 0; i < want.size(); ++i) {
      // count, min, max, first, last are exact; sum and avg of doubles are summed in another
      // order than sqlite's, so they may differ in the last bits.
      // d_approx (count_distinct past exact_limit: 4) is a HyperLogLog estimate: within
      // the documented 3 standard errors (3 * 1.04 / sqrt(4096) = 4.9%), rounded up.
      const bool rounded = i == 1 || i == 4 || i == 10;
      double tolerance = rounded ? 1e-9 * std::max(1.0, std::fabs(want[i])) : 0.0;
      if (i == 8) tolerance = std::ceil(3 * 1.04 / 64 * want[i]);
      const bool both_null = std::isnan(want[i]) && std::isnan(it->second[i]);
      if (!both_null && !(std::fabs(it->second[i] - want[i]) <= tolerance) && ++mismatches <= 5)
        ADD_FAILURE() << key << " aggregate " << i << ": sqlite " << want[i] << ", segflow "
                      << it->second[i];
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

void check(const DataSet& data, const std::vector<Window>& windows) {
  testing::TempDir tmp;
  for (const Window& w : windows) {
    SCOPED_TRACE(data.name + " " + w.yaml());
    const Results expected = oracle(tmp, data, w);
    ASSERT_GT(expected.size(), 50u);
    for (int parallelism : {1, 2}) {
      SCOPED_TRACE("parallelism " + std::to_string(parallelism));
      uint64_t dead = 0;
      expect_same(expected, run_segflow(tmp, data, w, parallelism, &dead));
      EXPECT_EQ(dead, data.late_rows);
    }
  }
}

TEST(WindowOracleTest, Rees46ViewsPerUserMatchSql) {
  ASSERT_TRUE(std::filesystem::exists(kRees46)) << kRees46;
  DataSet d;
  d.name = "rees46";
  d.event = "Product Viewed";
  d.sql_load = ".import '" + kRees46 + "' raw\n" +
               "CREATE TABLE ev AS SELECT rowid AS rid, user_id AS u, "
               "CAST(strftime('%s', substr(event_time, 1, 19)) AS INTEGER) * 1000 AS t, "
               "CAST(price AS REAL) AS p FROM raw WHERE event_type = 'view';\n";
  d.source_yaml = "  - id: in\n    type: file\n    parallelism: 1\n    path: " + kRees46 +
                  "\n    csv:\n      key: user_id\n"
                  "      event: { column: event_type, map: { view: Product Viewed } }\n"
                  "      timestamp: { column: event_time, format: \"%Y-%m-%d %H:%M:%S UTC\" }\n"
                  "      properties: { p: price }\n";
  check(d, {{"tumbling", 600'000}, {"sliding", 600'000, 60'000}, {"session", 0, 0, 300'000}});
}

TEST(WindowOracleTest, TaobaoViewsPerUserMatchSql) {
  ASSERT_TRUE(std::filesystem::exists(kTaobao)) << kTaobao;
  DataSet d;
  d.name = "taobao";
  d.event = "Product Viewed";
  d.sql_load = ".import '" + kTaobao + "' raw\n" +
               "CREATE TABLE ev AS SELECT rowid AS rid, user_id AS u, "
               "CAST(timestamp AS INTEGER) * 1000 AS t, CAST(item_id AS INTEGER) AS p "
               "FROM raw WHERE behavior_type = 'pv';\n";
  d.source_yaml = "  - id: in\n    type: file\n    parallelism: 1\n    path: " + kTaobao +
                  "\n    sort_by_time: true\n    csv:\n      key: user_id\n"
                  "      event: { column: behavior_type, map: { pv: Product Viewed } }\n"
                  "      timestamp: { column: timestamp, format: epoch_s }\n"
                  "      properties: { p: item_id }\n";
  check(
      d,
      {{"tumbling", 3'600'000}, {"sliding", 86'400'000, 21'600'000}, {"session", 0, 0, 1'800'000}});
}

TEST(WindowOracleTest, GeneratedOutOfOrderWithLateRowsMatchesSql) {
  testing::TempDir data_dir;
  const std::string csv = data_dir.file("gen.csv");
  std::string text = "user,ts,kind,value,late\n";
  std::mt19937_64 rng(7);
  int64_t max_time = 0;
  for (int i = 0; i < 6000; ++i) {
    const int64_t t = 1'700'000'000'000 + i * 100 + static_cast<int64_t>(rng() % 5000);
    max_time = std::max(max_time, t);
    const bool is_late = i > 1000 && i % 500 == 0;
    const int64_t time = is_late ? max_time - 120'000 : t;  // far behind the 5s bound
    text += "u" + std::to_string(rng() % 9) + "," + std::to_string(time) + "," +
            (rng() % 4 == 0 ? "other" : "hit") + "," + std::to_string(rng() % 1000) + "." +
            std::to_string(rng() % 100) + "," + (is_late ? "1" : "0") + "\n";
  }
  testing::write_file(csv, text);
  DataSet d;
  d.name = "generated";
  d.event = "Hit";
  d.out_of_orderness = "5s";
  d.sql_load = ".import '" + csv + "' raw\n" +
               "CREATE TABLE ev AS SELECT rowid AS rid, user AS u, CAST(ts AS INTEGER) AS t, "
               "CAST(value AS REAL) AS p FROM raw WHERE kind = 'hit' AND late = '0';\n";
  d.source_yaml = "  - id: in\n    type: file\n    parallelism: 1\n    path: " + csv +
                  "\n    csv:\n      key: user\n"
                  "      event: { column: kind, map: { hit: Hit, other: Other } }\n"
                  "      timestamp: { column: ts, format: epoch_ms }\n"
                  "      properties: { p: value }\n";
  // Late rows of kind "other" are ignored without a check (not counted by the window).
  std::istringstream lines(text);
  uint64_t late_hits = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.ends_with(",1") && line.find(",hit,") != std::string::npos) ++late_hits;
  d.late_rows = late_hits;
  ASSERT_GT(late_hits, 0u);
  check(d, {{"tumbling", 10'000}, {"sliding", 10'000, 2'000}, {"session", 0, 0, 3'000}});
}

}  // namespace
}  // namespace segflow

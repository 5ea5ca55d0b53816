// The Nexmark queries of jobs/nexmark/ against a SQL oracle: the nexmark source's events are
// written to a file, sqlite3 (run by the test) computes each query over them with SQL
// (hop / tumble / session windows written out as in window_oracle_test.cpp), and the job
// file, run with its sink swapped for a file, must produce exactly the same rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "connectors/json/iso8601.h"
#include "runner/job_runner.h"
#include "runner/job_spec.h"
#include "tests/support/run_job_quietly.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

constexpr const char* kEvents = "60000";
constexpr const char* kEventRate = "1500";  // 40 s of event time: several windows of each kind
constexpr const char* kSeed = "11";

using Row = std::vector<std::string>;

class NexmarkOracle : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testing::TempDir();
    // Every event the queries see, as the file sink writes them.
    run("jobs/nexmark/q0.yaml", {"operators.bids.events=[Person, Auction, Bid]"},
        tmp_->file("events.jsonl"));
  }
  static void TearDownTestSuite() { delete tmp_; }

  // Runs job `path` on the test's events with its sink `out` writing to `out_path`.
  static void run(const std::string& path, std::vector<std::string> overrides,
                  const std::string& out_path) {
    for (const std::string& o :
         {std::string("sources.nexmark.events=") + kEvents,
          std::string("sources.nexmark.event_rate=") + kEventRate,
          std::string("sources.nexmark.seed=") + kSeed, std::string("sinks.out.type=file_sink"),
          "sinks.out.path=" + out_path, std::string("sinks.out.parallelism=1"),
          "dead_letter.path=" + tmp_->file("dead.jsonl")})
      overrides.push_back(o);
    const RunResult result = testing::run_job_quietly(
        load_job_spec(std::string(SEGFLOW_SOURCE_DIR) + "/" + path, overrides));
    ASSERT_EQ(result.dead_letters, 0u) << path;
  }

  // The rows (CSV, one string per column) sqlite3 returns for `select` over table bid(auction,
  // bidder, price, t).
  static std::vector<Row> sql(const std::string& select) {
    const std::string script = tmp_->file("query.sql");
    testing::write_file(script,
                        "CREATE TABLE raw(j TEXT);\n.mode ascii\n.separator \"\\037\" "
                        "\"\\n\"\n.import '" +
                            tmp_->file("events.jsonl") +
                            "' raw\n"
                            "CREATE TABLE bid AS SELECT json_extract(j, '$.\"bid.auction\"') "
                            "AS auction, json_extract(j, '$.\"bid.bidder\"') AS bidder, "
                            "json_extract(j, '$.\"bid.price\"') AS price, "
                            "CAST(strftime('%s', substr(json_extract(j, '$.timestamp'), 1, "
                            "19)) AS INTEGER) * 1000 + CAST(substr(json_extract(j, "
                            "'$.timestamp'), 21, 3) AS INTEGER) AS t FROM raw WHERE "
                            "json_extract(j, '$.event') = 'Bid';\n.mode csv\n" +
                            select + ";\n");
    std::vector<Row> rows;
    std::istringstream in(testing::run_command("sqlite3 :memory: < " + script));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();  // sqlite's CSV ends in CRLF
      Row row;
      std::stringstream cells(line);
      for (std::string cell; std::getline(cells, cell, ',');) row.push_back(cell);
      rows.push_back(row);
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  // The values of `fields` of each line of the job's output ("@time": its event time in ms).
  static std::vector<Row> output(const std::string& path, const std::vector<std::string>& fields) {
    std::vector<Row> rows;
    for (const std::string& line : testing::read_lines(path)) {
      Row row;
      for (const std::string& f : fields) {
        if (f == "@time") {
          int64_t ms = 0;
          EXPECT_TRUE(parse_iso8601(testing::json_field(line, "timestamp"), ms)) << line;
          row.push_back(std::to_string(ms));
        } else {
          row.push_back(testing::json_field(line, f));
        }
      }
      rows.push_back(row);
    }
    std::sort(rows.begin(), rows.end());
    return rows;
  }

  static testing::TempDir* tmp_;
};

testing::TempDir* NexmarkOracle::tmp_ = nullptr;

TEST_F(NexmarkOracle, Q0PassesEveryBidThrough) {
  run("jobs/nexmark/q0.yaml", {}, tmp_->file("q0.jsonl"));
  const std::vector<Row> expected = sql("SELECT auction, bidder, price, t FROM bid");
  EXPECT_GT(expected.size(), 50000u);
  EXPECT_EQ(output(tmp_->file("q0.jsonl"), {"bid.auction", "bid.bidder", "bid.price", "@time"}),
            expected);
}

TEST_F(NexmarkOracle, Q1ConvertsEveryPriceToEuros) {
  run("jobs/nexmark/q1.yaml", {}, tmp_->file("q1.jsonl"));
  const std::vector<Row> expected = sql("SELECT auction, bidder, t, price * 0.908 FROM bid");
  const std::vector<Row> actual =
      output(tmp_->file("q1.jsonl"), {"bid.auction", "bid.bidder", "@time", "bid.price"});
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    ASSERT_EQ(Row(actual[i].begin(), actual[i].end() - 1),
              Row(expected[i].begin(), expected[i].end() - 1));
    const double want = std::stod(expected[i].back());
    EXPECT_NEAR(std::stod(actual[i].back()), want, want * 1e-12) << i;
  }
}

TEST_F(NexmarkOracle, Q2SelectsTheBidsOnEvery123rdAuction) {
  run("jobs/nexmark/q2.yaml", {}, tmp_->file("q2.jsonl"));
  const std::vector<Row> expected =
      sql("SELECT auction, price, bidder, t FROM bid WHERE auction % 123 = 0");
  EXPECT_GT(expected.size(), 10u);
  EXPECT_EQ(output(tmp_->file("q2.jsonl"), {"bid.auction", "bid.price", "bid.bidder", "@time"}),
            expected);
}

TEST_F(NexmarkOracle, Q5FindsTheAuctionsWithTheMostBidsPerSlidingWindow) {
  run("jobs/nexmark/q5.yaml", {}, tmp_->file("q5.jsonl"));
  const std::vector<Row> expected =
      sql("WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 4), "
          "counts AS (SELECT (t / 2000) * 2000 - i * 2000 AS ws, auction, COUNT(*) AS n "
          "FROM bid, k GROUP BY ws, auction), "
          "top AS (SELECT ws, MAX(n) AS n FROM counts GROUP BY ws) "
          "SELECT counts.ws, counts.ws + 10000, counts.auction, counts.n FROM counts JOIN top "
          "ON counts.ws = top.ws AND counts.n = top.n");
  EXPECT_GT(expected.size(), 15u);
  EXPECT_EQ(output(tmp_->file("q5.jsonl"), {"window_start", "window_end", "profile", "bids"}),
            expected);
}

TEST_F(NexmarkOracle, Q7FindsTheHighestBidPerTumblingWindow) {
  run("jobs/nexmark/q7.yaml", {}, tmp_->file("q7.jsonl"));
  const std::vector<Row> expected =
      sql("WITH top AS (SELECT t / 10000 * 10000 AS ws, MAX(price) AS price FROM bid GROUP BY "
          "ws) SELECT top.ws, top.ws + 10000, auction, bidder, bid.price, t FROM bid JOIN top ON "
          "t / 10000 * 10000 = top.ws AND bid.price = top.price");
  EXPECT_GE(expected.size(), 4u);
  EXPECT_EQ(output(tmp_->file("q7.jsonl"), {"window_start", "window_end", "bid.auction",
                                            "bid.bidder", "bid.price", "bid.time"}),
            expected);
}

TEST_F(NexmarkOracle, Q11CountsBidsPerBidderSession) {
  run("jobs/nexmark/q11.yaml", {}, tmp_->file("q11.jsonl"));
  const std::vector<Row> expected = sql(
      "WITH s1 AS (SELECT bidder, t, CASE WHEN t - LAG(t) OVER (PARTITION BY bidder ORDER BY t) "
      "> 10000 THEN 1 ELSE 0 END AS brk FROM bid), "
      "s2 AS (SELECT bidder, t, SUM(brk) OVER (PARTITION BY bidder ORDER BY t ROWS UNBOUNDED "
      "PRECEDING) AS g FROM s1) "
      "SELECT bidder, MIN(t), MAX(t) + 10000, COUNT(*) FROM s2 GROUP BY bidder, g");
  EXPECT_GT(expected.size(), 100u);
  EXPECT_EQ(output(tmp_->file("q11.jsonl"), {"profile", "window_start", "window_end", "bids"}),
            expected);
}

}  // namespace
}  // namespace segflow

// jobs/webhook_segments.yaml end to end against the webhook receiver test double
// (tests/support/webhook_test_server.h): every change of the job's JSONL output arrives
// exactly once when nothing fails, and at least once when the receiver fails requests.
// Skipped without the webhook sink or python3.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/registry.h"
#include "runner/job_runner.h"
#include "runner/job_spec.h"
#include "tests/support/run_job_quietly.h"
#include "tests/support/test_support.h"
#include "tests/support/webhook_test_server.h"

namespace segflow {
namespace {

class WebhookJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Registry::global().find("webhook") == nullptr)
      SEGFLOW_SKIP_WITHOUT("segflow was built without the webhook sink (OpenSSL missing)");
    if (std::system("command -v python3 >/dev/null 2>&1") != 0)
      SEGFLOW_SKIP_WITHOUT("python3 not installed");
  }

  // Runs the job against `server`; returns how often each change ("profile@timestamp") of
  // the job's output arrived in requests answered 200, and checks that every change of the
  // output arrived.
  std::map<std::string, int> run(const testing::WebhookTestServer& server) {
    const JobSpec spec = load_job_spec(
        std::string(SEGFLOW_SOURCE_DIR) + "/jobs/webhook_segments.yaml",
        {"sources.events.events=40000",
         "sinks.hooks.url=http://127.0.0.1:" + std::to_string(server.port()) + "/segments",
         "sinks.hooks.initial_backoff=10ms", "sinks.hooks.max_backoff=50ms",
         "sinks.changes.path=" + tmp_.file("changes.jsonl"),
         "dead_letter.path=" + tmp_.file("dead.jsonl")});
    EXPECT_EQ(testing::run_job_quietly(spec).dead_letters, 0u);
    std::map<std::string, int> delivered;
    for (const testing::Request& r : server.requests()) {
      EXPECT_EQ(r.headers.at("authorization"), "Bearer change-me");
      if (r.action == "ok")
        for (const std::string& record : r.records) ++delivered[record];
    }
    const std::vector<std::string> lines = testing::read_lines(tmp_.file("changes.jsonl"));
    EXPECT_GT(lines.size(), 100u);
    std::map<std::string, int> expected;
    for (const std::string& line : lines)
      ++expected[testing::json_field(line, "profile") + "@" +
                 testing::json_field(line, "timestamp")];
    for (const auto& [change, n] : expected) EXPECT_GE(delivered[change], n) << change;
    EXPECT_EQ(delivered.size(), expected.size());
    expected_ = expected;
    return delivered;
  }

  testing::TempDir tmp_;
  std::map<std::string, int> expected_;
};

TEST_F(WebhookJobTest, EveryChangeArrivesExactlyOnce) {
  testing::WebhookTestServer server({});
  EXPECT_EQ(run(server), expected_);
}

TEST_F(WebhookJobTest, EveryChangeArrivesAtLeastOnceWhenTheReceiverFails) {
  testing::WebhookTestServer server({"--plan", "503,ok,ok,500,429,ok", "--cycle"});
  run(server);
}

}  // namespace
}  // namespace segflow

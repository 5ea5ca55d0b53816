// jobs/redis_membership.yaml end to end against a real redis-server started by the test on
// a loopback port: Redis holds the last change of every (profile, segment) in the job's
// JSONL output (its time in the applied hash), so its memberships equal the job's final
// memberships, also when Redis is killed and restarted while the job runs. (At end of
// input every rolling count ages out, so rolling_count_threshold's final memberships are
// empty: the applied times are what shows each pair's last change arrived.) Skipped
// without hiredis or redis-server.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "connectors/json/iso8601.h"
#include "engine/registry.h"
#include "runner/job_runner.h"
#include "runner/job_spec.h"
#include "tests/support/redis_server.h"
#include "tests/support/run_job_quietly.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using Memberships = std::map<std::string, std::set<std::string>>;  // segment -> profiles

// The last change of one (profile, segment).
struct LastChange {
  int64_t time = 0;
  bool entered = false;
};
using LastChanges = std::map<std::pair<std::string, std::string>, LastChange>;

// The last change of every (profile, segment) in the job's change records.
LastChanges last_changes(const std::string& changes_path) {
  LastChanges last;
  for (const std::string& line : testing::read_lines(changes_path)) {
    LastChange& change =
        last[{testing::json_field(line, "profile"), testing::json_field(line, "segment")}];
    EXPECT_TRUE(parse_iso8601(testing::json_field(line, "timestamp"), change.time)) << line;
    change.entered = testing::json_field(line, "event") == "entered";
  }
  return last;
}

Memberships final_memberships(const LastChanges& last) {
  Memberships result;
  for (const auto& [pair, change] : last)
    if (change.entered) result[pair.second].insert(pair.first);
  return result;
}

// Redis's applied times agree with the last change of every pair, and it has no others.
void expect_applied_times(const testing::RedisServer& server, const LastChanges& last) {
  std::set<std::string> profiles;
  std::string commands;
  for (const auto& [pair, change] : last) {
    profiles.insert(pair.first);
    commands += "HGET \"segflow:applied:" + pair.first + "\" \"" + pair.second + "\"\n";
  }
  const std::vector<std::string> times = server.cli_lines(commands);
  ASSERT_EQ(times.size(), last.size());
  size_t i = 0;
  for (const auto& [pair, change] : last)
    ASSERT_EQ(times[i++], std::to_string(change.time)) << pair.first << " " << pair.second;
  EXPECT_EQ(server.keys("segflow:applied:*").size(), profiles.size());
}

Memberships redis_memberships(const testing::RedisServer& server) {
  Memberships result;
  for (const std::string& key : server.keys("segflow:segment:*"))
    result[key.substr(16)] = server.set_members(key);
  return result;
}

class RedisMembershipJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = testing::redis_unavailable_reason(); !why.empty())
      SEGFLOW_SKIP_WITHOUT(why);
    server_ = std::make_unique<testing::RedisServer>();
  }

  JobSpec spec(std::vector<std::string> overrides) {
    overrides.push_back("sinks.membership.address=" + server_->address());
    overrides.push_back("sinks.membership.initial_backoff=20ms");
    overrides.push_back("sinks.membership.max_backoff=200ms");
    overrides.push_back("sinks.changes.path=" + tmp_.file("changes.jsonl"));
    overrides.push_back("dead_letter.path=" + tmp_.file("dead.jsonl"));
    return load_job_spec(std::string(SEGFLOW_SOURCE_DIR) + "/jobs/redis_membership.yaml",
                         overrides);
  }

  testing::TempDir tmp_;
  std::unique_ptr<testing::RedisServer> server_;
};

TEST_F(RedisMembershipJobTest, RedisHoldsTheJobsFinalMemberships) {
  const RunResult result = testing::run_job_quietly(spec({"sources.events.events=60000"}));
  EXPECT_EQ(result.dead_letters, 0u);
  const LastChanges last = last_changes(tmp_.file("changes.jsonl"));
  ASSERT_GT(last.size(), 100u);
  EXPECT_EQ(redis_memberships(*server_), final_memberships(last));
  EXPECT_TRUE(server_->keys("segflow:profile:*").empty());  // no profile is left in a segment
  expect_applied_times(*server_, last);

  // Running the same job again replays every change: the state stays the same.
  testing::run_job_quietly(spec({"sources.events.events=60000"}));
  EXPECT_EQ(redis_memberships(*server_), final_memberships(last));
  expect_applied_times(*server_, last);
}

TEST_F(RedisMembershipJobTest, NothingIsLostWhenRedisRestartsMidRun) {
  // Paced, so the job is still running when Redis is killed.
  const JobSpec job = spec({"sources.events.events=60000", "sources.events.rate=30000"});
  std::atomic<bool> done{false};
  std::string failure;
  std::thread runner([&] {
    try {
      testing::run_job_quietly(job);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  server_->kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const bool restarted_mid_run = !done.load();
  server_->start();
  runner.join();
  ASSERT_EQ(failure, "");
  ASSERT_TRUE(restarted_mid_run) << "the job ended before Redis restarted: inconclusive";
  EXPECT_EQ(testing::read_lines(tmp_.file("dead.jsonl")).size(), 0u);
  const LastChanges last = last_changes(tmp_.file("changes.jsonl"));
  EXPECT_EQ(redis_memberships(*server_), final_memberships(last));
  expect_applied_times(*server_, last);
}

}  // namespace
}  // namespace segflow

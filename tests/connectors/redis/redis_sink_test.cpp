// The redis sink against a real redis-server started by the test on a loopback port
// (tests/support/redis_server.h). Skipped when segflow was built without hiredis or the
// redis-server package is missing.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "engine/dead_letter.h"
#include "engine/registry.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using ::testing::HasSubstr;

// One change: profile, segment, event time, entered.
struct Change {
  std::string profile;
  std::string segment;
  int64_t time;
  bool entered;
};

class RedisSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string why = testing::redis_unavailable_reason(); !why.empty())
      SEGFLOW_SKIP_WITHOUT(why);
    server_ = std::make_unique<testing::RedisServer>();
  }

  std::unique_ptr<Operator> make_sink(const std::string& extra_yaml = "") {
    const RegisteredType* type = Registry::global().find("redis");
    const ConfigNode node(YAML::Load("address: " + server_->address() + "\n" + extra_yaml),
                          std::make_shared<const std::string>("test.yaml"), "");
    std::unique_ptr<Operator> sink = type->parse_operator(node)();
    node.finish();
    ctx_.operator_id = "membership";
    ctx_.dead_letters = &dead_letters_;
    sink->open(ctx_);
    return sink;
  }

  static void send(Operator& sink, const std::vector<Change>& changes) {
    BatchPtr batch = BatchPool::acquire();
    for (const Change& c : changes)
      batch->add(EventKind::kDerived, c.profile, c.time, intern(c.entered ? "entered" : "exited"))
          .set("segment", Value::string(c.segment))
          .set("count", Value::integer(4));
    Output out([](BatchPtr&) { FAIL() << "a sink emits nothing"; }, 16);
    sink.process(*batch, out);
  }

  // segment -> members, for every segment set under `prefix`.
  std::map<std::string, std::set<std::string>> segments(const std::string& prefix) const {
    std::map<std::string, std::set<std::string>> result;
    for (const std::string& key : server_->keys(prefix + "segment:*"))
      result[key.substr(prefix.size() + 8)] = server_->set_members(key);
    return result;
  }

  // profile -> segments, from the profile hashes under `prefix`.
  std::map<std::string, std::set<std::string>> profiles(const std::string& prefix) const {
    std::map<std::string, std::set<std::string>> result;
    for (const std::string& key : server_->keys(prefix + "profile:*"))
      for (const auto& [segment, time] : server_->hash(key))
        result[key.substr(prefix.size() + 8)].insert(segment);
    return result;
  }

  // Every key under `prefix` with its content (set members or hash fields, sorted).
  std::map<std::string, std::string> dump(const std::string& prefix) const {
    std::map<std::string, std::string> result;
    for (const std::string& key : server_->keys(prefix + "*")) {
      std::string content;
      if (server_->cli("TYPE '" + key + "'") == "set\n") {
        for (const std::string& m : server_->set_members(key)) content += m + ",";
      } else {
        for (const auto& [field, value] : server_->hash(key)) content += field + "=" + value + ",";
      }
      result[key] = content;
    }
    return result;
  }

  std::unique_ptr<testing::RedisServer> server_;
  OperatorContext ctx_;
  DeadLetterOutput dead_letters_;
};

// The changes of `profiles` x `segments`, each pair alternating entered/exited at
// increasing times, `rounds` changes per pair; the final membership is what the last change
// of each pair says.
std::vector<Change> alternating_changes(int profiles, int segments, int rounds) {
  std::vector<Change> changes;
  for (int round = 0; round < rounds; ++round)
    for (int p = 0; p < profiles; ++p)
      for (int s = 0; s < segments; ++s)
        if ((p + s + round) % 3 != 0 || round == 0)
          changes.push_back({"user-" + std::to_string(p), "seg-" + std::to_string(s),
                             1'000'000 + round * 1000 + p, round % 2 == 0});
  return changes;
}

std::map<std::string, std::set<std::string>> expected_segments(const std::vector<Change>& changes) {
  std::map<std::pair<std::string, std::string>, bool> last;
  for (const Change& c : changes) last[{c.segment, c.profile}] = c.entered;
  std::map<std::string, std::set<std::string>> result;
  for (const auto& [pair, in] : last)
    if (in) result[pair.first].insert(pair.second);
  return result;
}

std::map<std::string, std::set<std::string>> invert(
    const std::map<std::string, std::set<std::string>>& m) {
  std::map<std::string, std::set<std::string>> result;
  for (const auto& [a, bs] : m)
    for (const std::string& b : bs) result[b].insert(a);
  return result;
}

TEST(RedisSinkConfig, BadAddressFailsAtLoadWithItsPosition) {
  const RegisteredType* type = Registry::global().find("redis");
  if (type == nullptr) SEGFLOW_SKIP_WITHOUT("segflow was built without hiredis");
  const ConfigNode node(YAML::Load("address: localhost\n"),
                        std::make_shared<const std::string>("job.yaml"), "");
  const std::string message = testing::spec_error_of([&] { type->parse_operator(node); });
  EXPECT_THAT(message, HasSubstr("job.yaml:1:10"));
  EXPECT_THAT(message, HasSubstr("expected host:port"));
}

TEST_F(RedisSinkTest, KeepsASetPerSegmentAndAHashPerProfile) {
  auto sink = make_sink("key_prefix: 'app1:'\n");
  send(*sink, {{"u1", "vip", 1000, true},
               {"u2", "vip", 1100, true},
               {"u1", "churn_risk", 1500, true},
               {"u2", "vip", 2000, false}});
  EXPECT_EQ(server_->set_members("app1:segment:vip"), (std::set<std::string>{"u1"}));
  EXPECT_EQ(server_->set_members("app1:segment:churn_risk"), (std::set<std::string>{"u1"}));
  EXPECT_EQ(server_->hash("app1:profile:u1"),
            (std::map<std::string, std::string>{{"vip", "1000"}, {"churn_risk", "1500"}}));
  EXPECT_TRUE(server_->hash("app1:profile:u2").empty());
  EXPECT_EQ(server_->hash("app1:applied:u2"),
            (std::map<std::string, std::string>{{"vip", "2000"}}));
  EXPECT_TRUE(server_->keys("segflow:*").empty());  // the prefix is used for every key
  EXPECT_EQ(dead_letters_.total(), 0u);
}

TEST_F(RedisSinkTest, MembershipsEqualTheLastChangeOfEachProfileAndSegment) {
  auto sink = make_sink("pipeline: 37\n");
  const auto changes = alternating_changes(60, 4, 5);
  for (size_t i = 0; i < changes.size(); i += 100)
    send(*sink, std::vector<Change>(changes.begin() + i,
                                    changes.begin() + std::min(changes.size(), i + 100)));
  const auto expected = expected_segments(changes);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(segments("segflow:"), expected);
  EXPECT_EQ(profiles("segflow:"), invert(expected));
}

TEST_F(RedisSinkTest, ReplayingChangesLeavesTheSameState) {
  auto sink = make_sink();
  const auto changes = alternating_changes(40, 3, 6);
  send(*sink, changes);
  const auto before = dump("segflow:");
  const auto segments_before = segments("segflow:");
  ASSERT_EQ(segments_before, expected_segments(changes));
  // Everything again, an older prefix again, and everything in reverse order.
  send(*sink, changes);
  send(*sink, std::vector<Change>(changes.begin(), changes.begin() + changes.size() / 2));
  send(*sink, std::vector<Change>(changes.rbegin(), changes.rend()));
  EXPECT_EQ(segments("segflow:"), segments_before);
  EXPECT_EQ(profiles("segflow:"), invert(segments_before));
  EXPECT_EQ(dump("segflow:"), before);  // the applied-change times too
}

TEST_F(RedisSinkTest, AnOlderEnterReplayedAfterTheExitIsIgnored) {
  auto sink = make_sink();
  send(*sink, {{"u1", "vip", 1000, true}, {"u1", "vip", 5000, false}});
  send(*sink, {{"u1", "vip", 1000, true}});  // replayed
  EXPECT_TRUE(server_->set_members("segflow:segment:vip").empty());
  EXPECT_TRUE(server_->hash("segflow:profile:u1").empty());
  // Changes at one instant apply in arrival order (an exit and a re-entry at one time).
  send(*sink, {{"u1", "vip", 7000, false}, {"u1", "vip", 7000, true}});
  EXPECT_EQ(server_->set_members("segflow:segment:vip"), (std::set<std::string>{"u1"}));
}

TEST_F(RedisSinkTest, NothingIsLostWhenRedisIsKilledAndRestartedMidRun) {
  auto sink = make_sink("pipeline: 16\ninitial_backoff: 20ms\nmax_backoff: 200ms\n");
  const auto changes = alternating_changes(200, 3, 8);
  constexpr size_t kBatch = 50;
  const size_t batches = (changes.size() + kBatch - 1) / kBatch;
  std::thread restarter;
  for (size_t b = 0; b < batches; ++b) {
    if (b == batches / 4) {
      // A crash between batches; the server comes back while the sink is retrying.
      server_->kill();
      restarter = std::thread([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        server_->start();
      });
    }
    const size_t first = b * kBatch;
    send(*sink, std::vector<Change>(changes.begin() + first,
                                    changes.begin() + std::min(changes.size(), first + kBatch)));
  }
  restarter.join();
  EXPECT_EQ(segments("segflow:"), expected_segments(changes));
  EXPECT_EQ(profiles("segflow:"), invert(expected_segments(changes)));
  EXPECT_EQ(dead_letters_.total(), 0u);
  // Exported (connectors/retry/delivery_metrics.h): each change acknowledged once.
  const MetricRegistry& metrics = *ctx_.metric_registry;
  EXPECT_EQ(testing::metric_value(metrics, "segflow_sink_delivered_total"), changes.size());
  EXPECT_GT(testing::metric_value(metrics, "segflow_sink_retries_total"), 0);
}

TEST_F(RedisSinkTest, AuthenticatesAndSelectsTheDatabase) {
  server_ = std::make_unique<testing::RedisServer>("s3cret");
  auto sink = make_sink("password: s3cret\ndatabase: 2\n");
  send(*sink, {{"u1", "vip", 1000, true}});
  EXPECT_EQ(server_->cli("-n 2 SMEMBERS segflow:segment:vip"), "u1\n");
  EXPECT_TRUE(server_->set_members("segflow:segment:vip").empty());  // database 0

  // A wrong password cannot get better by retrying: the sink fails with the reason.
  auto refused = make_sink("password: wrong\n");
  try {
    send(*refused, {{"u2", "vip", 1000, true}});
    FAIL() << "expected the sink to fail";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("refused: AUTH: WRONGPASS"));
  }
}

TEST_F(RedisSinkTest, RecordsThatAreNotChangesAreDeadLettered) {
  auto sink = make_sink();
  BatchPtr batch = BatchPool::acquire();
  batch->add(EventKind::kTrack, "u1", 1000, intern("Product Viewed"));
  batch->add(EventKind::kDerived, "u1", 1000, intern("entered")).set("count", Value::integer(3));
  batch->add(EventKind::kDerived, "u2", 1000, intern("entered"))
      .set("segment", Value::string("vip"));
  Output out([](BatchPtr&) {}, 16);
  sink->process(*batch, out);
  EXPECT_EQ(dead_letters_.count("not a segment change"), 1u);
  EXPECT_EQ(dead_letters_.count("missing segment"), 1u);
  EXPECT_EQ(server_->set_members("segflow:segment:vip"), (std::set<std::string>{"u2"}));
}

TEST_F(RedisSinkTest, AChangeRedisRejectsIsDeadLetteredAndTheRestApplied) {
  server_->cli("SET segflow:segment:broken not-a-set");
  auto sink = make_sink();
  send(*sink, {{"u1", "vip", 1000, true}, {"u1", "broken", 1000, true}, {"u2", "vip", 1000, true}});
  EXPECT_EQ(dead_letters_.count("redis rejected change"), 1u);
  EXPECT_EQ(server_->set_members("segflow:segment:vip"), (std::set<std::string>{"u1", "u2"}));
  const MetricRegistry& metrics = *ctx_.metric_registry;
  EXPECT_EQ(testing::metric_value(metrics, "segflow_sink_failed_total"), 1);
  EXPECT_EQ(testing::metric_value(metrics, "segflow_sink_delivered_total"), 2);
}

}  // namespace
}  // namespace segflow

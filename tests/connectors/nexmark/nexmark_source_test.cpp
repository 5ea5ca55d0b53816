#include "connectors/nexmark/nexmark_source.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "connectors/json/record_json.h"
#include "engine/registry.h"
#include "engine/spec_error.h"

namespace segflow {
namespace {

using ::testing::HasSubstr;

NexmarkSource::Config config(const std::string& yaml) {
  const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("test.yaml"), "");
  NexmarkSource::Config c = NexmarkSource::Config::parse(node);
  node.finish();
  return c;
}

// The records of one subtask as JSON lines, in emission order, polling at most `polls` times.
std::vector<std::string> run(NexmarkSource& source, size_t polls = SIZE_MAX) {
  std::vector<std::string> lines;
  Output out(
      [&](BatchPtr& batch) {
        for (const Record& r : batch->records()) {
          std::string line;
          append_record_json(line, *batch, r);
          lines.push_back(line + " key=" + std::string(r.key) +
                          " t=" + std::to_string(r.event_time));
        }
      },
      256);
  for (size_t i = 0; i < polls && source.poll(out) == SourceStatus::kMore; ++i) {
  }
  out.flush();
  return lines;
}

std::vector<std::string> run_subtask(const NexmarkSource::Config& c, uint32_t subtask,
                                     uint32_t parallelism) {
  OperatorContext ctx;
  ctx.subtask = subtask;
  ctx.parallelism = parallelism;
  NexmarkSource source(c);
  source.open(ctx);
  return run(source);
}

std::string field(const std::string& line, const std::string& name) {
  const std::string tag = "\"" + name + "\":";
  const size_t at = line.find(tag);
  if (at == std::string::npos) return "";
  const size_t end = line.find_first_of(",}", at + tag.size());
  return line.substr(at + tag.size(), end - at - tag.size());
}

TEST(NexmarkSource, IsRegisteredAsASource) {
  const RegisteredType* type = Registry::global().find("nexmark");
  ASSERT_NE(type, nullptr);
  EXPECT_TRUE(type->is_source);
}

TEST(NexmarkSource, BadSettingsFailAtLoadWithTheirPlace) {
  EXPECT_THAT([] { config("{bid_key: seller}"); },
              ::testing::ThrowsMessage<SpecError>(HasSubstr("'auction' or 'bidder'")));
  EXPECT_THAT([] { config("{rate: -1}"); },
              ::testing::ThrowsMessage<SpecError>(HasSubstr("test.yaml:1")));
  EXPECT_THROW(config("{event_rate: 0}"), SpecError);
  EXPECT_THROW(config("{start: yesterday}"), SpecError);
  EXPECT_THROW(config("{events: 10, evnets: 3}"), SpecError);
}

TEST(NexmarkSource, EmitsExactlyTheConfiguredEventsInTheStandardProportions) {
  const std::vector<std::string> lines = run_subtask(config("{events: 10000, seed: 4}"), 0, 1);
  ASSERT_EQ(lines.size(), 10000u);
  std::map<std::string, int> per_event;
  for (const std::string& line : lines) ++per_event[field(line, "event")];
  EXPECT_EQ(per_event["\"Person\""], 200);
  EXPECT_EQ(per_event["\"Auction\""], 600);
  EXPECT_EQ(per_event["\"Bid\""], 9200);
}

TEST(NexmarkSource, ParallelSubtasksSplitTheSameEventsEachInTimeOrder) {
  const NexmarkSource::Config c = config("{events: 6000, seed: 9, event_rate: 1000}");
  std::vector<std::string> single = run_subtask(c, 0, 1), parallel;
  for (uint32_t s = 0; s < 3; ++s) {
    const std::vector<std::string> part = run_subtask(c, s, 3);
    int64_t last = INT64_MIN;
    for (const std::string& line : part) {
      const int64_t t = std::stoll(line.substr(line.rfind(" t=") + 3));
      EXPECT_GE(t, last);
      last = t;
    }
    parallel.insert(parallel.end(), part.begin(), part.end());
  }
  std::sort(single.begin(), single.end());
  std::sort(parallel.begin(), parallel.end());
  EXPECT_EQ(single, parallel);
}

// Unbounded (events: 0): every subtask emits its share, the same events as a single one.
TEST(NexmarkSource, UnboundedSubtasksEachEmitTheirShare) {
  const NexmarkSource::Config c = config("{events: 0, seed: 9}");
  auto first_polls = [&](uint32_t subtask, uint32_t parallelism) {
    OperatorContext ctx;
    ctx.subtask = subtask;
    ctx.parallelism = parallelism;
    NexmarkSource source(c);
    source.open(ctx);
    return run(source, 4);
  };
  const std::vector<std::string> single = first_polls(0, 1);
  const std::vector<std::string> even = first_polls(0, 2), odd = first_polls(1, 2);
  ASSERT_FALSE(even.empty());
  ASSERT_EQ(even.size(), odd.size());
  for (size_t i = 0; i < even.size() && 2 * i + 1 < single.size(); ++i) {
    EXPECT_EQ(even[i], single[2 * i]);
    EXPECT_EQ(odd[i], single[2 * i + 1]);
  }
}

TEST(NexmarkSource, KeysBidsByAuctionOrByBidder) {
  for (const char* bid_key : {"auction", "bidder"}) {
    const auto lines =
        run_subtask(config(std::string("{events: 500, bid_key: ") + bid_key + "}"), 0, 1);
    for (const std::string& line : lines) {
      const std::string key =
          line.substr(line.find(" key=") + 5, line.find(" t=") - line.find(" key=") - 5);
      if (field(line, "event") == "\"Bid\"")
        EXPECT_EQ(key, field(line, std::string("bid.") + bid_key)) << line;
      else if (field(line, "event") == "\"Person\"")
        EXPECT_EQ(key, field(line, "person.id"));
      else
        EXPECT_EQ(key, field(line, "auction.id"));
    }
  }
}

TEST(NexmarkSource, RestoredSourceContinuesWhereTheSnapshotWasTaken) {
  const NexmarkSource::Config c = config("{events: 5000, seed: 2}");
  const std::vector<std::string> all = run_subtask(c, 1, 2);
  OperatorContext ctx;
  ctx.subtask = 1;
  ctx.parallelism = 2;
  NexmarkSource first(c);
  first.open(ctx);
  std::vector<std::string> lines = run(first, 2);
  StateWriter w;
  first.snapshot(w);

  NexmarkSource second(c);
  StateReader r(w.data());
  second.restore(r);
  second.open(ctx);
  const std::vector<std::string> rest = run(second);
  lines.insert(lines.end(), rest.begin(), rest.end());
  EXPECT_EQ(lines, all);

  NexmarkSource other_parallelism(c);
  StateReader again(w.data());
  other_parallelism.restore(again);
  OperatorContext three;
  three.parallelism = 3;
  EXPECT_THROW(other_parallelism.open(three), StateFormatError);
}

}  // namespace
}  // namespace segflow

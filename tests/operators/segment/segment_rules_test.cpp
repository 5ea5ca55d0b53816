#include "operators/segment/segment_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

namespace segflow {
namespace {

using ::testing::ElementsAre;

std::vector<uint32_t> leaf_ids(const std::vector<LeafFeedStep>& steps) {
  std::vector<uint32_t> ids;
  for (const LeafFeedStep& step : steps) ids.push_back(step.leaf);
  return ids;
}

SegmentRules parse(const std::string& yaml) {
  const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("job.yaml"), "op");
  return SegmentRules::parse(node, "segments");
}

TEST(SegmentRules, LeavesKeepingTheSameStateShareIt) {
  const SegmentRules rules = parse(R"(
segments:
  - {name: s0, enter: {window: {events: [A], where: "properties.v >= 3", within: 10m, is: "> 2"}}}
  - {name: s1, enter: {window: {events: [A], where: "properties.v >= 3", within: 10m, is: ">= 5"},
                       name: x}}
  - {name: s2, enter: {window: {events: [A], within: 10m, is: "> 2"}}}
  - {name: s3, enter: {window: {events: [A], fn: sum, of: properties.v, within: 10m, is: "> 2"}}}
  - {name: s4, enter: {window: {events: [A], fn: avg, of: properties.v, within: 10m, is: "> 1"}}}
  - {name: s5, enter: {window: {events: [A], where: "properties.v >= 3", within: 11m, is: "> 2"}}}
  - {name: s6, enter: {all: [{profile: "traits.plan == 'pro'", name: a},
                             {profile: "traits.plan == 'pro'", name: b}]}}
  - {name: s7, enter: {all: [{recency: {events: [B], since: "< 1h"}, name: a},
                             {recency: {events: [B], since: ">= 2h"}, name: b},
                             {absence: {after: [A], then_no: [B], within: 1m}, name: c}]}}
  - {name: s8, enter: {absence: {after: [A], then_no: [B], within: 1m, for: 1m}}}
  - {name: s9, enter: {absence: {after: [A], then_no: [B], within: 1m}}})");
  ASSERT_EQ(rules.leaves.size(), 13u);
  // Only the test (or label) differs: one state, owned by the first.
  EXPECT_EQ(rules.leaves[1].state, 0u);
  ASSERT_GE(rules.leaves[0].outcomes.size(), 2u);  // two tests
  EXPECT_EQ(rules.leaves[0].outcomes[0].leaf, 0u);
  EXPECT_THAT(rules.leaves[0].outcomes[0].segments, ElementsAre(0u));
  EXPECT_EQ(rules.leaves[0].outcomes[1].leaf, 1u);
  EXPECT_THAT(rules.leaves[0].outcomes[1].segments, ElementsAre(1u));
  EXPECT_TRUE(rules.leaves[1].outcomes.empty());
  EXPECT_EQ(rules.leaves[2].state, 2u);  // no `where`
  EXPECT_EQ(rules.leaves[3].state, 3u);  // sums a number: another state than counts
  EXPECT_EQ(rules.leaves[4].state, 3u);  // the same numbers, another function
  // Another window length: the same entries, kept for the longer window, another outcome.
  EXPECT_EQ(rules.leaves[5].state, 0u);
  EXPECT_EQ(rules.leaves[0].keep_ms, 11 * 60'000);
  EXPECT_TRUE(rules.leaves[0].shorter_than_kept);
  EXPECT_TRUE(rules.leaves[1].shorter_than_kept);
  EXPECT_FALSE(rules.leaves[5].shorter_than_kept);
  EXPECT_FALSE(rules.leaves[3].shorter_than_kept);
  ASSERT_EQ(rules.leaves[0].outcomes.size(), 3u);
  EXPECT_EQ(rules.leaves[0].outcomes[2].leaf, 5u);
  EXPECT_EQ(rules.leaves[3].keep_ms, 10 * 60'000);
  EXPECT_EQ(rules.leaves[6].state, 6u);  // profile conditions keep no state
  EXPECT_EQ(rules.leaves[7].state, 7u);
  EXPECT_EQ(rules.leaves[9].state, 8u);  // recency: the same events
  EXPECT_EQ(rules.leaves[10].state, 10u);
  EXPECT_EQ(rules.leaves[11].state, 11u);  // absence with `for`
  EXPECT_EQ(rules.leaves[12].state, 10u);
  // Only owners are indexed, once each.
  EXPECT_THAT(leaf_ids(rules.leaves_by_event.at(intern("A"))), ElementsAre(0u, 2u, 3u, 10u, 11u));
  EXPECT_THAT(leaf_ids(rules.leaves_by_event.at(intern("B"))), ElementsAre(8u, 10u, 11u));
  // What reducing an event needs of each, without reading the leaf.
  const LeafFeedStep& first = rules.leaves_by_event.at(intern("A"))[0];
  EXPECT_TRUE(first.tests_where);
  EXPECT_EQ(first.where_id, rules.leaves[0].match.where_id);
  EXPECT_FALSE(first.takes_number);
  EXPECT_FALSE(first.absence);
  const LeafFeedStep& sum = rules.leaves_by_event.at(intern("A"))[2];
  EXPECT_FALSE(sum.tests_where);
  EXPECT_TRUE(sum.takes_number);
  EXPECT_TRUE(rules.leaves_by_event.at(intern("A"))[3].absence);
  // Absences with the same lists and window: one outcome, read by two segments.
  ASSERT_EQ(rules.leaves[10].outcomes.size(), 1u);
  EXPECT_THAT(rules.leaves[10].outcomes[0].segments, ElementsAre(7u, 9u));
  // Recency conditions with different tests: two outcomes of one state.
  EXPECT_EQ(rules.leaves[8].outcomes.size(), 2u);
  EXPECT_EQ(rules.leaves[1].match.where_id, rules.leaves[0].match.where_id);
}

}  // namespace
}  // namespace segflow

#include "operators/segment/leaf_eval.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <random>
#include <string>

namespace segflow {
namespace {

SegmentRules parse(const std::string& yaml) {
  const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("job.yaml"), "op");
  return SegmentRules::parse(node, "segments");
}

// prune_and_evaluate (one pass for a count window at its kept length) gives what prune_leaf,
// evaluate_leaf and next_change give in turn, and leaves the same entries, for count windows
// with every comparison (fractional thresholds too), at the kept length and shorter than it,
// and for a sum sharing their state; on random entry lists at random instants.
TEST(LeafEval, PruneAndEvaluateMatchesTheThreeSteps) {
  const SegmentRules rules = parse(R"(
segments:
  - {name: s0, enter: {window: {events: [A], within: 10s, is: "> 2"}}}
  - {name: s1, enter: {window: {events: [A], within: 10s, is: ">= 1"}}}
  - {name: s2, enter: {window: {events: [A], within: 10s, is: "< 3"}}}
  - {name: s3, enter: {window: {events: [A], within: 10s, is: "== 2"}}}
  - {name: s4, enter: {window: {events: [A], within: 10s, is: "!= 0"}}}
  - {name: s5, enter: {window: {events: [A], within: 10s, is: "<= 2.5"}}}
  - {name: s6, enter: {window: {events: [A], within: 4s, is: "> 1"}}}
  - {name: s7, enter: {window: {events: [B], within: 10s, is: "> 0.5"}}}
  - {name: s8, enter: {window: {events: [C], fn: sum, of: properties.v, within: 5s, is: "> 3"}}}
)");
  ASSERT_EQ(rules.leaves[6].state, 0u);  // a shorter window reading the same entries
  ASSERT_TRUE(rules.leaves[6].shorter_than_kept);
  std::mt19937_64 rng(3);
  int fast = 0;
  for (int round = 0; round < 20000; ++round) {
    const auto id = static_cast<uint32_t>(rng() % rules.leaves.size());
    const Leaf& leaf = rules.leaves[id];
    const Leaf& owner = rules.leaves[leaf.state];
    LeafState state;
    int64_t t = static_cast<int64_t>(rng() % 20'000);
    const auto n = static_cast<uint32_t>(rng() % 8);
    for (uint32_t i = 0; i < n; ++i) {
      t += static_cast<int64_t>(rng() % 4'000);
      const double value = leaf.fn == WindowFn::kSum ? static_cast<double>(rng() % 4) : 1.0;
      state.entries.insert(t, value);
    }
    const int64_t now = static_cast<int64_t>(rng() % 40'000);
    LeafState expected_state = state;
    const int64_t ages_out = prune_leaf(owner, expected_state, now);
    const LeafResult result = evaluate_leaf(leaf, &expected_state, no_properties(), now);
    bool empties_only = false;
    const int64_t change = next_change(leaf, expected_state, now, &empties_only);

    const LeafOutcome o = prune_and_evaluate(owner, leaf, state, now);
    SCOPED_TRACE("leaf " + std::to_string(id) + " round " + std::to_string(round));
    EXPECT_EQ(o.ages_out, ages_out);
    EXPECT_EQ(o.result.holds, result.holds);
    EXPECT_EQ(o.result.value.kind, result.value.kind);
    EXPECT_EQ(o.result.value.number, result.value.number);
    EXPECT_EQ(o.change, empties_only ? kMaxTime : change);
    EXPECT_EQ(state.entries, expected_state.entries);
    EXPECT_EQ(state.empty(), expected_state.empty());
    if (leaf.fn == WindowFn::kCount && !leaf.shorter_than_kept) ++fast;
  }
  EXPECT_GT(fast, 10000);  // most rounds took the one-pass path
}

}  // namespace
}  // namespace segflow

// The identity operator's exported metrics: merges, refused links by reason, identifiers
// and live profiles.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <memory>

#include "operators/identity/identity_resolver.h"
#include "tests/support/operator_harness.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using testing::InputRecord;
using testing::metric_value;
using testing::OperatorHarness;

InputRecord track(int64_t time, std::vector<std::pair<std::string, testing::TestValue>> ids) {
  ids.emplace_back("messageId", "m" + std::to_string(time));
  return {"ignored", time, "Product Viewed", std::move(ids)};
}

TEST(IdentityMetrics, CountMergesRefusalsIdentifiersAndProfiles) {
  const ConfigNode node(YAML::Load("{max_merges: 1}"),
                        std::make_shared<const std::string>("job.yaml"), "op");
  const IdentityRules rules = IdentityRules::parse(node);
  OperatorHarness h(std::make_unique<IdentityResolver>(rules));
  const MetricRegistry& registry = *h.context().metric_registry;
  h.process({
      track(1, {{"anonymousId", "a1"}}),                    // profile 1
      track(2, {{"userId", "u1"}}),                         // profile 2
      track(3, {{"userId", "u1"}, {"anonymousId", "a1"}}),  // merge: 2 into 1
      track(4, {{"userId", "u2"}, {"anonymousId", "a1"}}),  // user_id limit 1: refused,
                                                            // u2 gets profile 3
      track(5, {{"anonymousId", "a2"}}),                    // profile 4
  });
  const auto& op = h.op_as<IdentityResolver>();
  EXPECT_EQ(op.merges(), 1u);
  EXPECT_EQ(op.refused_links(), 1u);
  EXPECT_EQ(metric_value(registry, "segflow_profile_merges_total"), op.merges());
  EXPECT_EQ(metric_value(registry, "segflow_profile_merges_refused_total"), op.refused_links());
  EXPECT_EQ(
      metric_value(registry, "segflow_profile_merges_refused_total", {{"reason", "type limit"}}),
      1);
  EXPECT_EQ(metric_value(registry, "segflow_identity_identifiers"), op.graph().identifier_count());
  EXPECT_EQ(metric_value(registry, "segflow_identity_profiles"),
            op.graph().profile_count() - op.merges());
  EXPECT_EQ(metric_value(registry, "segflow_identity_profiles"), 3);  // 4 made, 1 merged away
}

}  // namespace
}  // namespace segflow

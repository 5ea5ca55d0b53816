#include "connectors/retry/backoff.h"
#include "tests/support/test_support.h"

#include <memory>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace segflow {
namespace {

using ::testing::HasSubstr;

TEST(Backoff, DoublesUpToTheMaximum) {
  const Backoff backoff(BackoffConfig{100, 1000}, 1);
  EXPECT_EQ(backoff.ceiling_ms(1), 100);
  EXPECT_EQ(backoff.ceiling_ms(2), 200);
  EXPECT_EQ(backoff.ceiling_ms(4), 800);
  EXPECT_EQ(backoff.ceiling_ms(5), 1000);
  EXPECT_EQ(backoff.ceiling_ms(1000), 1000);  // no overflow on long outages
}

TEST(Backoff, JitterSpreadsDelaysOverTheUpperHalf) {
  Backoff backoff(BackoffConfig{100, 10'000}, 7);
  std::set<int64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const int64_t d = backoff.delay_ms(3);
    ASSERT_GE(d, 200);
    ASSERT_LE(d, 400);
    seen.insert(d);
  }
  EXPECT_GT(seen.size(), 100u);  // not one fixed delay
  // Two clients with different seeds do not retry in lockstep.
  Backoff a(BackoffConfig{100, 10'000}, 1), b(BackoffConfig{100, 10'000}, 2);
  int equal = 0;
  for (uint32_t retry = 1; retry <= 20; ++retry) equal += a.delay_ms(retry) == b.delay_ms(retry);
  EXPECT_LT(equal, 20);
}

TEST(BackoffConfig, ReadsDurationsAndRejectsBadOnes) {
  const auto parse = [](const std::string& yaml) {
    const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("job.yaml"), "");
    return BackoffConfig::parse(node, BackoffConfig{100, 5000});
  };
  const BackoffConfig c = parse("initial_backoff: 250ms\nmax_backoff: 2s\n");
  EXPECT_EQ(c.initial_ms, 250);
  EXPECT_EQ(c.max_ms, 2000);
  EXPECT_EQ(parse("{}").initial_ms, 100);
  EXPECT_THROW(parse("initial_backoff: 0s\n"), SpecError);
  EXPECT_THAT(testing::spec_error_of([&] { parse("initial_backoff: 10s\nmax_backoff: 1s\n"); }),
              HasSubstr("job.yaml:2:"));
}

}  // namespace
}  // namespace segflow

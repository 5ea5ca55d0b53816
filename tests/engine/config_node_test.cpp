// ConfigNode: typed reads with file:line:column errors.
#include "engine/config_node.h"
#include "tests/support/test_support.h"

#include <gtest/gtest.h>

namespace segflow {
namespace {

ConfigNode load(const std::string& text) {
  return ConfigNode(YAML::Load(text), std::make_shared<const std::string>("t.yaml"), "");
}

std::string error_of(const std::function<void()>& f) {
  return testing::spec_error_of([&] { f(); });
}

TEST(ConfigNodeTest, ParsesDurations) {
  EXPECT_EQ(parse_duration_ms("250ms"), 250);
  EXPECT_EQ(parse_duration_ms("5s"), 5000);
  EXPECT_EQ(parse_duration_ms("10m"), 600'000);
  EXPECT_EQ(parse_duration_ms("2h"), 7'200'000);
  EXPECT_EQ(parse_duration_ms("30d"), 2'592'000'000);
  EXPECT_EQ(parse_duration_ms("42"), 42);
  EXPECT_EQ(parse_duration_ms("5 s"), std::nullopt);
  EXPECT_EQ(parse_duration_ms("-5s"), std::nullopt);
  EXPECT_EQ(parse_duration_ms("soon"), std::nullopt);
}

TEST(ConfigNodeTest, TypedReadsAndErrors) {
  const ConfigNode n = load("a: 3\nb: x\nc: [p, q]\nd: yes\ne: 1.5\n");
  EXPECT_EQ(n.integer("a"), 3);
  EXPECT_EQ(n.string("b"), "x");
  EXPECT_EQ(n.strings("c"), (std::vector<std::string>{"p", "q"}));
  EXPECT_TRUE(n.boolean("d", false));
  EXPECT_DOUBLE_EQ(n.number("e", 0), 1.5);
  EXPECT_EQ(n.integer("zz", 9), 9);
  EXPECT_EQ(error_of([&] { n.integer("b"); }), "t.yaml:2:4: b: expected an integer, found 'x'");
  EXPECT_EQ(error_of([&] { n.string("missing"); }), "t.yaml:1:1: missing required field 'missing'");
  EXPECT_EQ(error_of([&] { n.integer("a", 0, 5, 10); }),
            "t.yaml:1:4: a: must be between 5 and 10, found 3");
  EXPECT_EQ(error_of([&] { n.string("c"); }),
            "t.yaml:3:4: c: expected a single value, found a list");
}

TEST(ConfigNodeTest, FinishReportsKeysNobodyRead) {
  const ConfigNode n = load("known: 1\ntypo: 2\n");
  n.integer("known");
  EXPECT_EQ(error_of([&] { n.finish(); }), "t.yaml:2:1: unknown key 'typo'");
}

}  // namespace
}  // namespace segflow

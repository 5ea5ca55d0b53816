#include "operators/basic/event_filter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "engine/registry.h"
#include "tests/support/operator_harness.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using ::segflow::testing::OperatorHarness;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

EventFilter::Config parse(const std::string& yaml) {
  return EventFilter::Config::parse(
      ConfigNode(YAML::Load(yaml), std::make_shared<const std::string>("test.yaml"), ""));
}

TEST(EventFilter, KeepsListedEventsWithTheirProperties) {
  const EventFilter::Config config = parse("events: [Order Completed, Signed Up]");
  OperatorHarness h(std::make_unique<EventFilter>(config));
  h.process({{"u1", 1, "Order Completed", {{"total", 12.5}, {"currency", "EUR"}}},
             {"u1", 2, "Page Viewed"},
             {"u2", 3, "Signed Up", {}, EventKind::kIdentify}});
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre(R"(track u1 @1 Order Completed total=12.5 currency="EUR")",
                          "identify u2 @3 Signed Up"));
}

TEST(EventFilter, ExcludeDropsListedEvents) {
  const EventFilter::Config config = parse("events: Page Viewed\nexclude: true");
  OperatorHarness h(std::make_unique<EventFilter>(config));
  h.process({{"u1", 1, "Order Completed"}, {"u1", 2, "Page Viewed"}, {"u1", 3, "Other"}});
  EXPECT_THAT(h.take_output_lines(),
              ElementsAre("track u1 @1 Order Completed", "track u1 @3 Other"));
}

TEST(EventFilter, PassesWatermarksAndEndOfInputWithoutOutput) {
  const EventFilter::Config config = parse("events: [a]");
  OperatorHarness h(std::make_unique<EventFilter>(config));
  h.watermark(10);
  h.end_of_input();
  EXPECT_TRUE(h.output().empty());
}

TEST(EventFilter, RequiresAtLeastOneEvent) {
  const std::string message = testing::spec_error_of([] { parse("exclude: false\nevents: []\n"); });
  EXPECT_THAT(message, HasSubstr("test.yaml:1:"));
  EXPECT_THAT(message, HasSubstr("'events' must name at least one event"));
  EXPECT_THROW(parse("exclude: true"), SpecError);
  EXPECT_THROW(parse("events: [a]\nexclude: maybe"), SpecError);
}

TEST(EventFilter, IsRegisteredAsUnkeyedFilter) {
  const RegisteredType* type = Registry::global().find("filter");
  ASSERT_NE(type, nullptr);
  EXPECT_FALSE(type->is_source);
  EXPECT_FALSE(type->keyed);
}

}  // namespace
}  // namespace segflow

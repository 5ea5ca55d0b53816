#include "operators/segment/time_zone.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace segflow {
namespace {

TEST(TimeZone, OffsetsFollowDaylightSavingTime) {
  const auto berlin = TimeZone::find("Europe/Berlin");
  if (berlin == nullptr) SEGFLOW_SKIP_WITHOUT("no tz database (Debian package tzdata)");
  EXPECT_EQ(berlin->offset_seconds(1704067200000), 3600);  // 2024-01-01T00:00Z
  EXPECT_EQ(berlin->offset_seconds(1719792000000), 7200);  // 2024-07-01T00:00Z
  // DST starts 2024-03-31T01:00Z.
  EXPECT_EQ(berlin->offset_seconds(1711846799999), 3600);
  EXPECT_EQ(berlin->offset_seconds(1711846800000), 7200);
  EXPECT_EQ(TimeZone::find("Asia/Kolkata")->offset_seconds(1719792000000), 19800);
  EXPECT_EQ(TimeZone::find("America/New_York")->offset_seconds(1704067200000), -18000);
}

TEST(TimeZone, UnknownAndHostileNamesAreNull) {
  EXPECT_EQ(TimeZone::find("Not/AZone"), nullptr);
  EXPECT_EQ(TimeZone::find("../../etc/passwd"), nullptr);
  EXPECT_EQ(TimeZone::find("/etc/localtime"), nullptr);
  EXPECT_EQ(TimeZone::find(""), nullptr);
  EXPECT_EQ(TimeZone::parse("TZif2 but short"), nullptr);
  EXPECT_EQ(TimeZone::parse(std::string(100, 'x')), nullptr);
}

TEST(LocalTime, HourAndIsoWeekday) {
  // 2024-06-01T16:30Z was a Saturday.
  EXPECT_EQ(LocalTime::at(1717259400000, 0).hour, 16);
  EXPECT_EQ(LocalTime::at(1717259400000, 0).weekday, 6);
  EXPECT_EQ(LocalTime::at(1717259400000, 8 * 3600).hour, 0);
  EXPECT_EQ(LocalTime::at(1717259400000, 8 * 3600).weekday, 7);
  EXPECT_EQ(LocalTime::at(0, 0).weekday, 4);  // 1970-01-01: Thursday
  EXPECT_EQ(LocalTime::at(-1, 0).hour, 23);
  EXPECT_EQ(LocalTime::at(-1, 0).weekday, 3);
  EXPECT_EQ(LocalTime::at(INT64_MAX, 3600).hour, LocalTime::at(INT64_MAX, 3600).hour);
}

}  // namespace
}  // namespace segflow

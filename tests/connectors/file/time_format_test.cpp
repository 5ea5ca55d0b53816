#include "connectors/file/time_format.h"

#include <gtest/gtest.h>

namespace segflow {
namespace {

TEST(TimeFormatTest, Patterns) {
  std::string error;
  auto parse = [&](const std::string& spec, const std::string& text) -> int64_t {
    auto f = TimeFormat::make(spec, error);
    EXPECT_TRUE(f.has_value()) << error;
    int64_t ms = -1;
    return f && f->parse_time(text, ms) ? ms : -1;
  };
  EXPECT_EQ(parse("%Y-%m-%d %H:%M:%S", "2019-10-01 00:00:00 UTC"), 1569888000000);
  EXPECT_EQ(parse("%Y-%m-%d %H:%M:%S", "2019-10-01 00:00:00"), 1569888000000);
  EXPECT_EQ(parse("%Y-%m-%d %H:%M:%S", "2019-10-01 02:00:00+02:00"), 1569888000000);
  EXPECT_EQ(parse("%F %T.%f", "2019-10-01 00:00:00.5"), 1569888000500);
  EXPECT_EQ(parse("%m/%d/%Y %H:%M", "10/1/2019 0:00"), 1569888000000);
  EXPECT_EQ(parse("%Y%m%d", "20191001"), 1569888000000);
  EXPECT_EQ(parse("100%% %Y", "100% 2019"), 1546300800000);
  EXPECT_EQ(parse("%Y-%m-%d", "2019-02-29"), -1);
  EXPECT_EQ(parse("%Y-%m-%d", "2019-10-01 junk"), -1);
  EXPECT_EQ(parse("%Y-%m-%d", "2019-10"), -1);
  EXPECT_EQ(parse("%H:%M", "25:00"), -1);
  EXPECT_EQ(parse("epoch_s", "1569888000"), 1569888000000);
  EXPECT_EQ(parse("epoch_s", "-1.5"), -1500);
  EXPECT_EQ(parse("epoch_s", "99999999999999999"), -1);
  EXPECT_EQ(parse("epoch_s", "1e9"), -1);
  EXPECT_EQ(parse("epoch_ms", "1569888000123"), 1569888000123);
  EXPECT_EQ(parse("iso8601", "2019-10-01 00:00:00 UTC"), 1569888000000);
  EXPECT_FALSE(TimeFormat::make("%Y-%q", error).has_value());
  EXPECT_FALSE(TimeFormat::make("%", error).has_value());
  EXPECT_FALSE(TimeFormat::make("", error).has_value());
}

}  // namespace
}  // namespace segflow

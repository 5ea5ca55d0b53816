#include "connectors/webhook/retry_after.h"

#include <gtest/gtest.h>

namespace segflow {
namespace {

// 1999-12-31T23:59:00Z
const auto kNow = std::chrono::system_clock::from_time_t(946684740);

TEST(RetryAfter, DelaySeconds) {
  EXPECT_EQ(retry_after_ms("120", kNow), 120000);
  EXPECT_EQ(retry_after_ms(" 0 ", kNow), 0);
  EXPECT_EQ(retry_after_ms("99999999999999999", kNow), (int64_t{1} << 31) * 1000);
}

TEST(RetryAfter, HttpDatesInTheirThreeForms) {
  EXPECT_EQ(retry_after_ms("Fri, 31 Dec 1999 23:59:59 GMT", kNow), 59000);
  EXPECT_EQ(retry_after_ms("Friday, 31-Dec-99 23:59:59 GMT", kNow), 59000);
  EXPECT_EQ(retry_after_ms("Fri Dec 31 23:59:59 1999", kNow), 59000);
  EXPECT_EQ(retry_after_ms("Fri, 31 Dec 1999 23:00:00 GMT", kNow), 0);  // past: at once
}

TEST(RetryAfter, AnythingElseIsNotAWait) {
  for (const char* bad : {"", "-5", "1.5", "soon", "Fri, 31 Dec 1999 23:59:59", "12abc"})
    EXPECT_FALSE(retry_after_ms(bad, kNow)) << bad;
}

}  // namespace
}  // namespace segflow

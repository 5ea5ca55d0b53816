// JSON text helpers: escaping and timestamps.
#include "engine/json_text.h"

#include <gtest/gtest.h>

namespace segflow {
namespace {

TEST(JsonTextTest, EscapesAndReplacesInvalidUtf8) {
  std::string out;
  append_json_string(out, "a\"b\\c\n\x01 é \xff");
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001 é \xEF\xBF\xBD\"");
}

TEST(JsonTextTest, FormatsIso8601) {
  std::string out;
  append_iso8601(out, 1569888000250);  // 2019-10-01T00:00:00.250Z
  EXPECT_EQ(out, "2019-10-01T00:00:00.250Z");
  out.clear();
  append_iso8601(out, 0);
  EXPECT_EQ(out, "1970-01-01T00:00:00.000Z");
  out.clear();
  append_iso8601(out, -1);
  EXPECT_EQ(out, "1969-12-31T23:59:59.999Z");
  out.clear();
  append_iso8601(out, 1709251199999);  // leap day
  EXPECT_EQ(out, "2024-02-29T23:59:59.999Z");
  out.clear();
  append_iso8601(out, 253402300800000);  // year 10000: printed in full
  EXPECT_EQ(out, "10000-01-01T00:00:00.000Z");
}

TEST(JsonTextTest, EscapesBetweenPlainRuns) {
  std::string out;
  append_json_string(out,
                     "ab\"c\\d\x01"
                     "e\tf\xC3\xA9g");
  EXPECT_EQ(out, "\"ab\\\"c\\\\d\\u0001e\\tf\xC3\xA9g\"");
}

}  // namespace
}  // namespace segflow

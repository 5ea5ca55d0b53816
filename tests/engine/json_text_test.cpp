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
}

}  // namespace
}  // namespace segflow

#include "connectors/http_ingest/write_key_auth.h"

#include <gtest/gtest.h>

namespace segflow {
namespace {

TEST(WriteKeyAuthTest, ReadsTheUserNameOfBasicAuth) {
  // "abc123:" and "key:secret" in base64, as `printf 'abc123:' | base64` prints them.
  EXPECT_EQ(basic_auth_user("Basic YWJjMTIzOg=="), "abc123");
  EXPECT_EQ(basic_auth_user("basic a2V5OnNlY3JldA=="), "key");
  EXPECT_EQ(basic_auth_user("Basic a2V5OnNlY3JldA"), "key");  // padding left out
}

TEST(WriteKeyAuthTest, RejectsOtherSchemesAndBadBase64) {
  EXPECT_EQ(basic_auth_user("Bearer YWJjMTIzOg=="), std::nullopt);
  EXPECT_EQ(basic_auth_user("Basic"), std::nullopt);
  EXPECT_EQ(basic_auth_user("Basic !!!"), std::nullopt);
  EXPECT_EQ(basic_auth_user("BasicYWJjMTIzOg=="), std::nullopt);
}

}  // namespace
}  // namespace segflow

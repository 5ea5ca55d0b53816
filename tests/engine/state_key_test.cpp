#include "engine/state_key.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace segflow {
namespace {

TEST(StateKeyTest, KeepsShortAndLongKeysByteForByte) {
  for (const std::string& s :
       {std::string(), std::string("a"), std::string(38, 'k'), std::string(39, 'l'),
        std::string("with\0zero", 9), std::string(200, 'x')}) {
    const StateKey key(s);
    EXPECT_EQ(key.view(), s);
  }
}

TEST(StateKeyTest, CopiesAndMovesOwnTheirBytes) {
  std::vector<StateKey> keys;
  for (int i = 0; i < 100; ++i)
    keys.emplace_back(std::string(static_cast<size_t>(i), 'a' + i % 26));
  StateKey copy = keys[70];
  StateKey moved = std::move(keys[71]);
  keys[5] = keys[80];
  keys[6] = std::move(keys[90]);
  keys[80] = StateKey("short");
  EXPECT_EQ(copy.view(), std::string(70, 'a' + 70 % 26));
  EXPECT_EQ(moved.view(), std::string(71, 'a' + 71 % 26));
  EXPECT_EQ(keys[5].view(), std::string(80, 'a' + 80 % 26));
  EXPECT_EQ(keys[6].view(), std::string(90, 'a' + 90 % 26));
  EXPECT_EQ(keys[80].view(), "short");
  EXPECT_EQ(keys[71].view(), "");  // moved from: empty
}

}  // namespace
}  // namespace segflow

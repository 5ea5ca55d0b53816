#include "engine/key_arena.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace segflow {
namespace {

TEST(KeyArenaTest, KeysOfEveryLengthReadBackByOffset) {
  KeyArena arena;
  std::vector<std::string> keys = {"", "a", std::string(127, 'x'), std::string(128, 'y'),
                                   std::string(20000, 'z')};
  std::vector<uint64_t> offsets;
  for (const std::string& k : keys) offsets.push_back(arena.add(k));
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(arena.at(offsets[i]), keys[i]) << i;
}

TEST(KeyArenaTest, CompactionKeepsOnlyLiveKeysAndRemapsTheirOffsets) {
  KeyArena arena;
  std::vector<std::string> keys;
  std::vector<uint64_t> offsets;
  for (int i = 0; i < 2000; ++i) {
    keys.push_back("profile-" + std::to_string(i));
    offsets.push_back(arena.add(keys.back()));
  }
  EXPECT_FALSE(arena.wants_compaction());
  // Drop every key but each tenth: far more than a quarter of the bytes.
  std::vector<size_t> live;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i % 10 == 0) {
      live.push_back(i);
    } else {
      arena.drop(offsets[i]);
    }
  }
  ASSERT_TRUE(arena.wants_compaction());
  arena.compact([&](auto&& remap) {
    for (size_t i : live) remap(offsets[i]);
  });
  EXPECT_FALSE(arena.wants_compaction());
  for (size_t i : live) EXPECT_EQ(arena.at(offsets[i]), keys[i]) << i;
  // The first live key now starts the buffer.
  EXPECT_EQ(offsets[live.front()], 0u);
}

TEST(KeyArenaTest, ClearForgetsDroppedBytes) {
  KeyArena arena;
  for (int i = 0; i < 1000; ++i) arena.drop(arena.add(std::string(16, 'k')));
  ASSERT_TRUE(arena.wants_compaction());
  arena.clear();
  EXPECT_FALSE(arena.wants_compaction());
  EXPECT_EQ(arena.add("next"), 0u);
}

}  // namespace
}  // namespace segflow

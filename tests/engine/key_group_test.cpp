// Key groups: ranges partition [0, max_parallelism) and agree with subtask_of_key_group.
#include "engine/key_group.h"

#include <gtest/gtest.h>

namespace segflow {
namespace {

TEST(KeyGroupTest, RangesCoverEveryGroupExactlyOnceAndMatchTheAssignment) {
  for (uint32_t max_p : {1u, 7u, 128u, 1000u}) {
    for (uint32_t p = 1; p <= std::min(max_p, 13u); ++p) {
      uint32_t next = 0;
      for (uint32_t s = 0; s < p; ++s) {
        const KeyGroupRange r = KeyGroupRange::for_subtask(s, max_p, p);
        EXPECT_EQ(r.begin, next);
        for (uint32_t kg = r.begin; kg < r.end; ++kg)
          EXPECT_EQ(subtask_of_key_group(kg, max_p, p), s);
        next = r.end;
      }
      EXPECT_EQ(next, max_p);
    }
  }
}

TEST(KeyGroupTest, HashIsStable) {
  // Fixed values: changing the hash would silently reshuffle restored state.
  EXPECT_EQ(key_group_of("user-1", 128), key_group_of(std::string("user-1"), 128));
  EXPECT_EQ(hash_key(""), 0x2D06800538D394C2ull);
}

}  // namespace
}  // namespace segflow

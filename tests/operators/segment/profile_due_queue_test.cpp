#include "operators/segment/profile_due_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace segflow {
namespace {

std::vector<std::pair<int64_t, std::string>> drain(ProfileDueQueue& q) {
  std::vector<std::pair<int64_t, std::string>> out;
  while (!q.empty()) {
    out.emplace_back(q.top_time(), std::string(q.top_key()));
    q.pop();
  }
  return out;
}

TEST(ProfileDueQueue, PopsByTimeThenByKeyBytes) {
  ProfileDueQueue q;
  q.push(20, "b");
  q.push(10, "zz");
  q.push(20, "a");
  q.push(10, "z");
  q.push(20, std::string("\xff", 1));  // bytes compare unsigned, as the engine's timers
  const std::vector<std::pair<int64_t, std::string>> expected = {
      {10, "z"}, {10, "zz"}, {20, "a"}, {20, "b"}, {20, std::string("\xff", 1)}};
  EXPECT_EQ(drain(q), expected);
}

TEST(ProfileDueQueue, MatchesASortedListThroughPushesPopsAndArenaCompaction) {
  std::mt19937_64 rng(7);
  ProfileDueQueue q;
  std::vector<std::pair<int64_t, std::string>> model;
  for (int round = 0; round < 20000; ++round) {
    if (model.empty() || rng() % 3 != 0) {
      const auto time = static_cast<int64_t>(rng() % 500);
      // Keys of 1 to 200 bytes: some need a two-byte length.
      std::string key(1 + rng() % 200, 'k');
      key += std::to_string(rng() % 1000);
      q.push(time, key);
      model.emplace_back(time, key);
    } else {
      const auto top = std::min_element(model.begin(), model.end());
      ASSERT_EQ(q.top_time(), top->first);
      ASSERT_EQ(q.top_key(), top->second);
      q.pop();
      model.erase(top);
    }
    ASSERT_EQ(q.size(), model.size());
  }
  std::sort(model.begin(), model.end());
  EXPECT_EQ(drain(q), model);
  q.push(1, "again");
  EXPECT_EQ(q.top_key(), "again");
  q.clear();
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace segflow

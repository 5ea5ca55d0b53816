#include "engine/due_queue.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <utility>

namespace segflow {
namespace {

// Random pushes (equal times, keys up to 300 bytes) and pops, enough of them for the arena
// to be compacted many times, against a std::multiset of (time, key).
TEST(DueQueue, PopsEarliestFirstAgainstAMultiset) {
  std::mt19937_64 rng(13);
  DueQueue queue;
  std::multiset<std::pair<int64_t, std::string>> model;
  int64_t clock = -5000;
  for (int step = 0; step < 200'000; ++step) {
    if (rng() % 100 < (step < 100'000 ? 55u : 45u)) {
      clock += static_cast<int64_t>(rng() % 3);
      const int64_t time = clock + static_cast<int64_t>(rng() % 50);
      std::string key(rng() % 50 == 0 ? 128 + rng() % 200 : rng() % 20, 'k');
      for (char& c : key) c = static_cast<char>('a' + rng() % 26);
      queue.push(time, key);
      model.emplace(time, key);
    } else if (!model.empty()) {
      ASSERT_FALSE(queue.empty());
      const int64_t time = queue.top_time();
      ASSERT_EQ(time, model.begin()->first) << step;
      const auto it = model.find({time, std::string(queue.top_key())});
      ASSERT_NE(it, model.end()) << step;
      model.erase(it);
      queue.pop();
    }
    ASSERT_EQ(queue.size(), model.size());
    ASSERT_EQ(queue.empty(), model.empty());
  }
  queue.clear();
  EXPECT_TRUE(queue.empty());
  queue.push(7, "x");
  EXPECT_EQ(queue.top_key(), "x");
}

}  // namespace
}  // namespace segflow

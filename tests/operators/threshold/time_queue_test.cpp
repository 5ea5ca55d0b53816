// TimeQueue against a sorted std::vector model: random inserts (mostly in order, some
// earlier) and pops, across the inline/heap boundary, with copies, moves and a state
// round trip along the way.
#include "operators/threshold/time_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

namespace segflow {
namespace {

std::vector<int64_t> drain(TimeQueue q) {
  std::vector<int64_t> out;
  for (; !q.empty(); q.pop_front()) out.push_back(q.front());
  return out;
}

TEST(TimeQueueTest, MatchesASortedVectorOnRandomOperations) {
  std::mt19937 rng(7);
  TimeQueue q;
  std::vector<int64_t> model;
  int64_t clock = 0;
  for (int step = 0; step < 20'000; ++step) {
    const uint32_t op = rng() % 10;
    if (op < 5) {
      clock += rng() % 3;
      const int64_t t = rng() % 4 == 0 ? clock - static_cast<int64_t>(rng() % 20) : clock;
      q.insert(t);
      model.insert(std::upper_bound(model.begin(), model.end(), t), t);
    } else if (op < 9 && !model.empty()) {
      ASSERT_EQ(q.front(), model.front());
      q.pop_front();
      model.erase(model.begin());
    } else if (op == 9) {
      switch (rng() % 3) {
        case 0: {
          TimeQueue copy = q;
          q = std::move(copy);
          break;
        }
        case 1: {
          TimeQueue moved(std::move(q));
          q = moved;
          break;
        }
        default: {
          StateWriter w;
          q.write(w);
          const std::string bytes = w.take();
          StateReader r(bytes);
          q = TimeQueue::read(r);
        }
      }
    }
    ASSERT_EQ(q.size(), model.size());
    if (step % 1000 == 0) ASSERT_EQ(drain(q), model);
  }
  EXPECT_EQ(drain(q), model);
}

TEST(TimeQueueTest, AMovedFromQueueIsEmptyAndUsable) {
  TimeQueue q;
  for (int64_t t : {5, 3, 9, 1}) q.insert(t);
  TimeQueue other(std::move(q));
  EXPECT_TRUE(q.empty());  // NOLINT(bugprone-use-after-move): documented state
  q.insert(4);
  EXPECT_EQ(drain(q), (std::vector<int64_t>{4}));
  EXPECT_EQ(drain(other), (std::vector<int64_t>{1, 3, 5, 9}));
}

}  // namespace
}  // namespace segflow

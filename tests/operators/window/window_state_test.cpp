#include "operators/window/window_state.h"

#include <algorithm>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace segflow {
namespace {

std::vector<int64_t> starts(const PaneList& panes) {
  std::vector<int64_t> out;
  for (const Pane& p : panes) out.push_back(p.start);
  return out;
}

Pane pane(int64_t start, int64_t count) {
  Pane p{start, Accumulators(1)};
  for (int64_t i = 0; i < count; ++i) p.accs[0].add(AggregateFn::kCount, nullptr, start, 0);
  return p;
}

TEST(PaneList, KeepsOrderThroughInsertsAndFrontRemovalsLikeAVector) {
  std::mt19937 rng(7);
  PaneList panes;
  std::vector<int64_t> model;
  for (int step = 0; step < 5000; ++step) {
    if (!model.empty() && rng() % 3 == 0) {
      const size_t n = rng() % (model.size() + 1);
      panes.pop_front(n);
      model.erase(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(n));
    } else {
      const size_t at = model.empty() ? 0 : rng() % (model.size() + 1);
      const auto value = static_cast<int64_t>(step);
      panes.insert(panes.begin() + at, pane(value, step % 4));
      model.insert(model.begin() + static_cast<std::ptrdiff_t>(at), value);
    }
    ASSERT_EQ(starts(panes), model) << "step " << step;
  }
  // Ascending starts, then lower_bound against std::lower_bound.
  PaneList sorted;
  std::vector<int64_t> keys;
  for (int64_t i = 0; i < 300; ++i) {
    keys.push_back(i * 3);
    sorted.push_back(pane(i * 3, 0));
  }
  for (int64_t probe = -2; probe < 905; ++probe) {
    const auto expected = std::lower_bound(keys.begin(), keys.end(), probe) - keys.begin();
    ASSERT_EQ(sorted.lower_bound(probe) - sorted.begin(), expected) << probe;
  }
  PaneList none;
  EXPECT_EQ(none.lower_bound(5), none.end());
  for (size_t i = 0; i < panes.size(); ++i)
    EXPECT_EQ(panes[i].accs[0].count(), static_cast<uint64_t>(panes[i].start % 4));
}

TEST(PaneList, MovesWithItsPanesInlineAndOnTheHeap) {
  for (size_t n : {0, 1, 5}) {
    PaneList a;
    for (size_t i = 0; i < n; ++i) a.push_back(pane(static_cast<int64_t>(i), 2));
    PaneList b = std::move(a);
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(b.size(), n);
    PaneList c;
    c.push_back(pane(99, 1));
    c = std::move(b);
    ASSERT_EQ(c.size(), n);
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(c[i].accs[0].count(), 2u);
  }
}

TEST(PaneList, EmptiedByTheFrontItHoldsOnePaneWithoutAllocating) {
  PaneList panes;
  for (int64_t i = 0; i < 10; ++i) panes.push_back(pane(i, 1));
  panes.pop_front(10);
  EXPECT_TRUE(panes.empty());
  panes.push_back(pane(42, 3));
  EXPECT_EQ(starts(panes), std::vector<int64_t>{42});
  EXPECT_EQ(panes.back().accs[0].count(), 3u);
}

}  // namespace
}  // namespace segflow

#include "operators/segment/compact_vector.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace segflow {
namespace {

// Up to 8 elements a vector grows to fit exactly; beyond, by a quarter of its size; an
// emptied vector holds no block.
TEST(CompactVector, GrowsExactlyThenByAQuarterAndFreesWhenEmpty) {
  static_assert(sizeof(CompactVector<int>) == 8);
  CompactVector<int> v;
  EXPECT_EQ(v.capacity(), 0u);
  for (int i = 1; i <= 8; ++i) {
    v.push_back(i);
    EXPECT_EQ(v.capacity(), static_cast<uint32_t>(i));
  }
  v.push_back(9);
  EXPECT_EQ(v.capacity(), 10u);  // 8 + 8 / 4
  for (int i = 10; i <= 100; ++i) {
    const uint32_t before = v.capacity();
    v.push_back(i);
    if (before < static_cast<uint32_t>(i))
      EXPECT_EQ(v.capacity(), std::max<uint32_t>(i, (i - 1) + (i - 1) / 4));
  }
  EXPECT_LE(v.capacity(), 100u + 100u / 4);
  v.erase(v.begin(), v.end());
  EXPECT_EQ(v.capacity(), 0u);
  EXPECT_EQ(v.data(), nullptr);
}

// Pushes, inserts and erases of owning elements against std::vector.
TEST(CompactVector, MatchesAStdVector) {
  std::mt19937 rng(5);
  CompactVector<std::string> v;
  std::vector<std::string> model;
  for (int step = 0; step < 3000; ++step) {
    const std::string s = "item-" + std::to_string(rng() % 1000) + std::string(rng() % 20, 'x');
    const uint32_t op = rng() % 4;
    if (op == 0 || model.empty()) {
      v.push_back(s);
      model.push_back(s);
    } else if (op == 1) {
      const size_t at = rng() % (model.size() + 1);
      v.insert(v.begin() + at, s);
      model.insert(model.begin() + static_cast<std::ptrdiff_t>(at), s);
    } else {
      const size_t from = rng() % model.size();
      const size_t to = from + rng() % (model.size() - from + 1);
      v.erase(v.begin() + from, v.begin() + to);
      model.erase(model.begin() + static_cast<std::ptrdiff_t>(from),
                  model.begin() + static_cast<std::ptrdiff_t>(to));
    }
    ASSERT_TRUE(v == model) << step;
    const CompactVector<std::string> copy = v;
    ASSERT_TRUE(copy == model) << step;
  }
}

}  // namespace
}  // namespace segflow

#include "operators/segment/leaf_entries.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace segflow {
namespace {

using Entry = LeafEntries::Entry;

// Random appends, insertions in the middle, values other than 1, spans beyond 2^32 ms,
// drops of the oldest entries and keep_first, against a sorted std::vector.
TEST(LeafEntries, MatchesASortedVectorUnderRandomOperations) {
  std::mt19937_64 rng(3);
  for (int round = 0; round < 300; ++round) {
    LeafEntries entries;
    std::vector<Entry> model;
    int64_t clock = static_cast<int64_t>(rng() % 1000) - 500;
    for (int step = 0; step < 200; ++step) {
      const uint64_t op = rng() % 10;
      if (op < 6) {
        const uint64_t jump = rng() % 20;
        clock += jump == 0 ? (int64_t{1} << 33) : static_cast<int64_t>(rng() % 5000);
        const int64_t time = rng() % 5 == 0 ? clock - static_cast<int64_t>(rng() % 9000) : clock;
        const double value = rng() % 3 == 0 ? static_cast<double>(rng() % 7) * 0.5 : 1.0;
        entries.insert(time, value);
        const Entry e{time, value};
        model.insert(std::upper_bound(model.begin(), model.end(), e), e);
      } else if (op < 9) {
        const auto n = static_cast<uint32_t>(rng() % (model.size() + 2));
        entries.erase_front(n);
        model.erase(model.begin(), model.begin() + std::min<size_t>(n, model.size()));
      } else {
        entries.keep_first();
        if (model.size() > 1) model.resize(1);
      }
      ASSERT_EQ(entries.to_vector(), model) << "round " << round << " step " << step;
      ASSERT_EQ(entries.size(), model.size());
      if (!model.empty()) {
        EXPECT_EQ(entries.front(), model.front());
        EXPECT_EQ(entries.back(), model.back());
      }
      const LeafEntries copy = entries;
      EXPECT_EQ(copy, entries);
    }
  }
}

TEST(LeafEntries, OneCountedEntryIsInlineAndTagsSurviveAssignment) {
  LeafEntries e;
  e.set_tag(7);
  e = {{5, 1.0}};
  EXPECT_EQ(e.tag(), 7);
  EXPECT_EQ(e.size(), 1u);
  EXPECT_EQ(e.front(), (Entry{5, 1.0}));
  LeafEntries moved(std::move(e));
  EXPECT_EQ(moved.tag(), 7);
  EXPECT_EQ(moved.back(), (Entry{5, 1.0}));
  EXPECT_TRUE(e.empty());  // NOLINT: moved-from is empty by contract
}

}  // namespace
}  // namespace segflow

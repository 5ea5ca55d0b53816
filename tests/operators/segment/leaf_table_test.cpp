#include "operators/segment/leaf_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace segflow {
namespace {

// Random creations and erasures over a few or many ids (the table switches between its
// searched and indexed forms both ways), against a std::map.
TEST(LeafTable, MatchesAMapUnderRandomCreationsAndErasures) {
  std::mt19937_64 rng(5);
  for (const uint32_t ids : {4u, 20u, 300u}) {
    LeafTable table;
    std::map<uint32_t, int64_t> model;
    for (int step = 0; step < 20000; ++step) {
      const auto id = static_cast<uint32_t>(rng() % ids);
      if (rng() % 3 != 0) {
        const auto last = static_cast<int64_t>(step);
        table.get_or_create(id).last = last;
        model[id] = last;
      } else {
        table.erase(id);
        model.erase(id);
      }
      if (step % 7 == 0 && rng() % 50 == 0) {  // empty it: back to the searched form
        for (const auto& [key, _] : model) table.erase(key);
        model.clear();
      }
      ASSERT_EQ(table.size(), model.size());
      for (uint32_t i = 0; i < ids; ++i) {
        const LeafState* s = table.find(i);
        const auto it = model.find(i);
        ASSERT_EQ(s != nullptr, it != model.end()) << "id " << i << " step " << step;
        if (s != nullptr) {
          EXPECT_EQ(s->id(), i);
          EXPECT_EQ(s->last, it->second);
        }
      }
    }
  }
}

}  // namespace
}  // namespace segflow

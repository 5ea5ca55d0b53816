#include "operators/segment/leaf_table.h"

#include <gtest/gtest.h>

#include <iterator>
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
        table.get_or_create(id).set_last(last);
        model[id] = last;
      } else {
        table.erase(id);
        model.erase(id);
      }
      if (step % 7 == 0 && rng() % 50 == 0) {  // empty it: back to the searched form
        for (const auto& [key, _] : model) table.erase(key);
        model.clear();
      }
      // Checked on the table itself, and now and then on a copy and a copy-assigned table.
      LeafTable copy;
      if (step % 97 == 0) copy = LeafTable(table);
      if (step % 89 == 0) copy = table;
      const LeafTable& checked = step % 97 == 0 || step % 89 == 0 ? copy : table;
      ASSERT_EQ(checked.size(), model.size());
      for (uint32_t i = 0; i < ids; ++i) {
        const LeafState* s = checked.find(i);
        const auto it = model.find(i);
        ASSERT_EQ(s != nullptr, it != model.end()) << "id " << i << " step " << step;
        if (s != nullptr) {
          EXPECT_EQ(s->id(), i);
          EXPECT_EQ(s->last(), it->second);
        }
      }
    }
  }
}

// retain() keeps what the predicate keeps (with its changes), in either form of the table,
// and the table stays usable (finds, creations, erasures) afterwards.
TEST(LeafTable, RetainKeepsWhatThePredicateKeeps) {
  std::mt19937_64 rng(11);
  for (const uint32_t ids : {6u, 40u, 500u}) {
    for (int round = 0; round < 50; ++round) {
      LeafTable table;
      std::map<uint32_t, int64_t> model;
      for (uint32_t i = 0; i < ids; ++i) {
        if (rng() % 2 == 0) continue;
        table.get_or_create(i).set_last(static_cast<int64_t>(i));
        model[i] = static_cast<int64_t>(i);
      }
      const uint64_t modulus = 1 + rng() % 4;  // 1: keeps none
      table.retain([&](LeafState& s) {
        s.set_last(s.last() + 1000);
        return s.id() % modulus != 0;
      });
      for (auto it = model.begin(); it != model.end();) {
        it->second += 1000;
        it = it->first % modulus != 0 ? std::next(it) : model.erase(it);
      }
      ASSERT_EQ(table.size(), model.size());
      for (uint32_t i = 0; i < ids; ++i) {
        const LeafState* s = table.find(i);
        const auto it = model.find(i);
        ASSERT_EQ(s != nullptr, it != model.end()) << "id " << i;
        if (s != nullptr) {
          EXPECT_EQ(s->id(), i);
          EXPECT_EQ(s->last(), it->second);
        }
      }
      const auto fresh = static_cast<uint32_t>(rng() % ids);
      table.get_or_create(fresh).set_last(-1);
      model[fresh] = -1;
      const auto gone = static_cast<uint32_t>(rng() % ids);
      table.erase(gone);
      model.erase(gone);
      ASSERT_EQ(table.size(), model.size());
      for (const auto& [id, last] : model) {
        ASSERT_NE(table.find(id), nullptr) << "id " << id;
        EXPECT_EQ(table.find(id)->last(), last);
      }
    }
  }
}

}  // namespace
}  // namespace segflow

#include "engine/key_table.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

namespace segflow {
namespace {

using Table = KeyTable<std::string>;

// The table's entries as an ordered map, checking each entry is found by its key.
std::map<std::string, std::string> contents(Table& t) {
  std::map<std::string, std::string> m;
  for (auto& [k, v] : t) {
    EXPECT_TRUE(m.emplace(std::string(k.view()), v).second) << "duplicate " << k.view();
    const auto found = t.find(k.view(), hash_key(k.view()));
    EXPECT_TRUE(found != t.end() && found->first.view() == k.view()) << k.view();
  }
  return m;
}

TEST(KeyTableTest, FindsWhatWasInsertedAndNotWhatWasErased) {
  Table t;
  EXPECT_EQ(t.find("a", hash_key("a")), t.end());
  auto [it, added] = t.try_emplace("a", hash_key("a"));
  EXPECT_TRUE(added);
  it->second = "1";
  auto [again, added_again] = t.try_emplace("a", hash_key("a"));
  EXPECT_FALSE(added_again);
  EXPECT_EQ(again->second, "1");
  t.insert_or_assign("b", hash_key("b"), "2");
  t.insert_or_assign("b", hash_key("b"), "3");
  EXPECT_EQ(t.size(), 2u);
  t.erase(t.find("a", hash_key("a")));
  EXPECT_EQ(t.find("a", hash_key("a")), t.end());
  ASSERT_NE(t.find("b", hash_key("b")), t.end());
  EXPECT_EQ(t.find("b", hash_key("b"))->second, "3");
}

// Random inserts, erases and erase_if against std::map, with keys inline and on the heap
// (StateKey keeps up to 38 bytes inline) and enough of them to grow the index many times.
TEST(KeyTableTest, MatchesAMapUnderRandomInsertsAndErases) {
  std::mt19937 rng(7);
  Table t;
  std::map<std::string, std::string> ref;
  const auto key = [&](uint32_t i) {
    std::string k = "user-" + std::to_string(i);
    if (i % 5 == 0) k += std::string(40, 'x');  // on the heap
    return k;
  };
  for (int round = 0; round < 20'000; ++round) {
    const std::string k = key(rng() % 3000);
    const uint64_t h = hash_key(k);
    switch (rng() % 4) {
      case 0:
      case 1:
        t.insert_or_assign(k, h, std::to_string(round));
        ref[k] = std::to_string(round);
        break;
      case 2:
        if (auto it = t.find(k, h); it != t.end()) t.erase(it);
        ref.erase(k);
        break;
      default: {
        const auto it = t.find(k, h);
        ASSERT_EQ(it != t.end(), ref.contains(k)) << k;
        if (it != t.end()) EXPECT_EQ(it->second, ref[k]);
      }
    }
    if (round % 5000 == 4999) {
      const auto drop = [](std::string_view k) { return k.back() == '3'; };
      t.erase_if([&](std::string_view k, std::string&) { return drop(k); });
      std::erase_if(ref, [&](const auto& kv) { return drop(kv.first); });
    }
  }
  EXPECT_EQ(t.size(), ref.size());
  EXPECT_EQ(contents(t), ref);
}

TEST(KeyTableTest, EraseIfKeepsTheOrderOfTheOthersAndEmptiesTheTable) {
  Table t;
  for (int i = 0; i < 100; ++i)
    t.insert_or_assign(std::to_string(i), hash_key(std::to_string(i)), "");
  t.erase_if([](std::string_view k, std::string&) { return k.size() == 1; });
  std::vector<std::string> order;
  for (auto& [k, v] : t) order.emplace_back(k.view());
  ASSERT_EQ(order.size(), 90u);
  for (size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], std::to_string(i + 10));
  t.erase_if([](std::string_view, std::string&) { return true; });
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.find("42", hash_key("42")), t.end());
  t.insert_or_assign("42", hash_key("42"), "back");
  EXPECT_EQ(t.find("42", hash_key("42"))->second, "back");
}

}  // namespace
}  // namespace segflow

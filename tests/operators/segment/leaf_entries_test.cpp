#include "operators/segment/leaf_entries.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "engine/record.h"

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

// Each value kind a block can hold (none, exact hundredths, doubles), negative times and values,
// times beyond the inline range, and re-encodings between them, against a sorted std::vector.
TEST(LeafEntries, MatchesASortedVectorAcrossValueKindsAndTimeRanges) {
  std::mt19937_64 rng(11);
  const double values[] = {1.0,         0.0,   -1.0,    2.5,      278.99, -13.07,
                           21474836.47, 0.001, 1.0 / 3, -2.5e300, 1e-300};
  const int64_t starts[] = {0,
                            -5000,
                            int64_t{1} << 46,
                            -(int64_t{1} << 46) - 3,
                            std::numeric_limits<int64_t>::min() / 2,
                            1704067200000};
  for (int round = 0; round < 200; ++round) {
    LeafEntries entries;
    entries.set_tag(0xffff);
    std::vector<Entry> model;
    int64_t clock = starts[rng() % std::size(starts)];
    // Mostly counts, sometimes one kind of value, sometimes any.
    const uint64_t mix = rng() % 3;
    for (int step = 0; step < 120; ++step) {
      if (rng() % 4 != 0) {
        clock += static_cast<int64_t>(rng() % 100000) +
                 (rng() % 40 == 0 ? (int64_t{1} << 32) - 50000 : 0);
        const int64_t time = rng() % 6 == 0 ? clock - static_cast<int64_t>(rng() % 300000) : clock;
        const double value = mix == 0   ? 1.0
                             : mix == 1 ? (rng() % 2 == 0 ? 1.0 : values[4])
                                        : values[rng() % std::size(values)];
        entries.insert(time, value);
        const Entry e{time, value};
        model.insert(std::upper_bound(model.begin(), model.end(), e), e);
      } else {
        const auto n = static_cast<uint32_t>(rng() % (model.size() / 2 + 2));
        entries.erase_front(n);
        model.erase(model.begin(), model.begin() + std::min<size_t>(n, model.size()));
      }
      ASSERT_EQ(entries.to_vector(), model) << "round " << round << " step " << step;
      ASSERT_EQ(entries.tag(), 0xffff);
      if (!model.empty()) {
        ASSERT_EQ(entries.back(), model.back());
      }
    }
  }
}

// Values are kept bit for bit: -0.0, NaN and infinities too, and numbers next to exact
// hundredths.
TEST(LeafEntries, KeepsValuesBitForBit) {
  const double values[] = {-0.0,
                           std::numeric_limits<double>::quiet_NaN(),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           std::nextafter(278.99, 300.0),
                           278.99,
                           21474836.48,
                           -21474836.47,
                           std::numeric_limits<double>::denorm_min()};
  for (const double v : values) {
    LeafEntries e;
    e.insert(10, 1.0);
    e.insert(20, v);
    e.insert(30, 2.25);
    const LeafEntries copy = e;
    for (const LeafEntries* x : {static_cast<const LeafEntries*>(&e), &copy}) {
      const double got = x->value(1);
      EXPECT_EQ(std::memcmp(&got, &v, sizeof v), 0) << v;
      EXPECT_EQ(x->value(0), 1.0);
      EXPECT_EQ(x->value(2), 2.25);
    }
  }
}

// A count's entries cost 4 bytes each; exact hundredths 8; other doubles 12; a span beyond
// 2^32 ms 8 bytes per time (the oldest entry's time is the 12-byte header's base). Dropping entries
// frees the space, and one counted entry left is inline again. malloc's rounding is allowed for
// (its usable size is at most 24 bytes over).
TEST(LeafEntries, BlocksAreSizedToTheirEncoding) {
  constexpr uint32_t kN = 1000;
  constexpr size_t kHeader = 12;
  auto fill = [](double value, int64_t step) {
    LeafEntries e;
    for (uint32_t i = 0; i < kN; ++i) e.insert(int64_t{1704067200000} + i * step, value);
    return e;
  };
  // The oldest entry's time is the block's base, not repeated.
  auto within = [](const LeafEntries& e, size_t per_entry, size_t time_size = 4) {
    const size_t exact = kHeader + e.size() * per_entry - time_size;
    return e.heap_bytes() >= exact && e.heap_bytes() <= exact + exact / 8 + per_entry + 24;
  };
  LeafEntries counts = fill(1.0, 1000);
  EXPECT_TRUE(within(counts, 4)) << counts.heap_bytes();
  EXPECT_TRUE(within(fill(19.99, 1000), 8));
  EXPECT_TRUE(within(fill(0.125, 1000), 12));
  EXPECT_TRUE(within(fill(1.0, int64_t{1} << 23), 8, 8));  // spans 2^33 ms: wide times

  counts.erase_front(kN - 10);
  EXPECT_EQ(counts.size(), 10u);
  EXPECT_TRUE(within(counts, 4)) << counts.heap_bytes();
  EXPECT_EQ(counts.front().first, int64_t{1704067200000} + (kN - 10) * 1000);
  counts.erase_front(9);
  EXPECT_EQ(counts.heap_bytes(), 0u);
  EXPECT_EQ(counts.back(), (Entry{int64_t{1704067200000} + (kN - 1) * 1000, 1.0}));
  counts.insert(int64_t{1704067200000} + kN * 1000, 1.0);
  counts.insert(int64_t{1704067200000} + kN * 1000 + 1, 1.0);
  counts.keep_first();
  EXPECT_EQ(counts.heap_bytes(), 0u);
  EXPECT_EQ(counts.size(), 1u);
}

// A window sliding for longer than 2^32 ms keeps 32-bit offsets: the block is rebased on its
// oldest entry rather than widened.
TEST(LeafEntries, ASlidingWindowIsRebasedNotWidened) {
  LeafEntries e;
  constexpr int64_t kStep = int64_t{1} << 26;  // 128 entries span 2^33 ms
  int64_t t = -(int64_t{1} << 40);
  std::vector<Entry> model;
  for (int i = 0; i < 512; ++i, t += kStep) {
    e.insert(t, 1.0);
    model.emplace_back(t, 1.0);
    if (model.size() > 32) {  // the window: 32 entries, 2^31 ms
      e.erase_front(1);
      model.erase(model.begin());
    }
    ASSERT_EQ(e.to_vector(), model) << i;
    ASSERT_LE(e.heap_bytes(), 12 + 40 * 4u) << i;
  }
}

// Inline entries take times within +-2^46 ms; beyond, one entry has a block. The tag is
// unaffected either way.
TEST(LeafEntries, InlineTimesAtTheirLimits) {
  const int64_t limit = int64_t{1} << 46;
  for (const int64_t t : {limit - 1, -limit, int64_t{0}, int64_t{-1}}) {
    LeafEntries e;
    e.set_tag(0x8001);
    e.insert(t, 1.0);
    EXPECT_EQ(e.heap_bytes(), 0u) << t;
    EXPECT_EQ(e.front(), (Entry{t, 1.0}));
    EXPECT_EQ(e.tag(), 0x8001);
  }
  for (const int64_t t : {limit, -limit - 1, std::numeric_limits<int64_t>::max(),
                          std::numeric_limits<int64_t>::min()}) {
    LeafEntries e;
    e.set_tag(0x8001);
    e.insert(t, 1.0);
    EXPECT_GT(e.heap_bytes(), 0u) << t;
    EXPECT_EQ(e.front(), (Entry{t, 1.0}));
    EXPECT_EQ(e.tag(), 0x8001);
  }
  static_assert(sizeof(LeafEntries) == 8);
}

// The inline paths of insert() and clear(): a first counted entry is inline unless a `last`
// is kept (then both go to a block); clear() keeps the tag and `last` in every form.
TEST(LeafEntries, FirstInsertAndClearKeepTagAndLast) {
  LeafEntries e;
  e.set_tag(0x1234);
  e.insert(40, 1.0);
  EXPECT_EQ(e.heap_bytes(), 0u);
  e.clear();
  EXPECT_TRUE(e.empty());
  EXPECT_EQ(e.last(), INT64_MIN);
  EXPECT_EQ(e.tag(), 0x1234);
  e.set_last(30);  // inline `last`, no entries
  e.insert(40, 1.0);
  EXPECT_EQ(e.front(), (Entry{40, 1.0}));
  EXPECT_EQ(e.last(), 30);
  e.clear();
  EXPECT_TRUE(e.empty());
  EXPECT_EQ(e.last(), 30);
  EXPECT_EQ(e.tag(), 0x1234);
  LeafEntries valued;
  valued.insert(40, 2.5);  // not a count: a block
  EXPECT_GT(valued.heap_bytes(), 0u);
  EXPECT_EQ(valued.front(), (Entry{40, 2.5}));
  valued.clear();
  EXPECT_TRUE(valued.empty());
  EXPECT_EQ(valued.last(), INT64_MIN);
}

// A copy owns its block: changing either leaves the other as it was.
TEST(LeafEntries, CopiesAreIndependent) {
  LeafEntries a{{1, 1.0}, {2, 3.5}, {3, 1.0}};
  a.set_tag(4);
  LeafEntries b = a;
  b.set_tag(5);
  b.insert(4, 1.0);
  b.erase_front(2);
  EXPECT_EQ(a.to_vector(), (std::vector<Entry>{{1, 1.0}, {2, 3.5}, {3, 1.0}}));
  EXPECT_EQ(b.to_vector(), (std::vector<Entry>{{3, 1.0}, {4, 1.0}}));
  a = b;
  EXPECT_EQ(a.tag(), 4);
  EXPECT_EQ(a, b);
}

// `last` rides along in the handle or the block: random entry operations and `last` updates
// (inline, beyond the inline range, none) against a sorted vector and a plain time.
TEST(LeafEntries, LastSurvivesEveryEntryOperation) {
  std::mt19937_64 rng(11);
  const int64_t lasts[] = {kMinTime,
                           0,
                           -5,
                           (int64_t{1} << 45) - 1,
                           -(int64_t{1} << 45),
                           int64_t{1} << 45,
                           kMaxTime,
                           1'700'000'000'000};
  for (int round = 0; round < 300; ++round) {
    LeafEntries entries;
    entries.set_tag(static_cast<uint16_t>(round));
    std::vector<Entry> model;
    int64_t last = kMinTime;
    for (int step = 0; step < 100; ++step) {
      const uint64_t op = rng() % 10;
      if (op < 4) {
        const int64_t time = static_cast<int64_t>(rng() % 100'000);
        const double value = rng() % 2 == 0 ? 1.0 : static_cast<double>(rng() % 9) * 0.25;
        entries.insert(time, value);
        const Entry e{time, value};
        model.insert(std::upper_bound(model.begin(), model.end(), e), e);
      } else if (op < 6) {
        last = lasts[rng() % std::size(lasts)];
        entries.set_last(last);
      } else if (op < 8) {
        const auto n = static_cast<uint32_t>(rng() % (model.size() + 2));
        entries.erase_front(n);
        model.erase(model.begin(), model.begin() + std::min<size_t>(n, model.size()));
      } else if (op < 9) {
        entries.keep_first();
        if (model.size() > 1) model.resize(1);
      } else {
        entries.clear();
        model.clear();
      }
      ASSERT_EQ(entries.to_vector(), model);
      ASSERT_EQ(entries.empty(), model.empty());
      ASSERT_EQ(entries.last(), last);
      ASSERT_EQ(entries.tag(), static_cast<uint16_t>(round));
      const LeafEntries copy(entries);
      ASSERT_EQ(copy.last(), last);
      ASSERT_EQ(copy.to_vector(), model);
      LeafEntries moved;
      moved = LeafEntries(copy);
      ASSERT_EQ(moved.last(), last);
      ASSERT_EQ(moved.to_vector(), model);
    }
  }
}

TEST(LeafEntries, AnInlineLastNeedsNoBlock) {
  LeafEntries entries;
  entries.set_last(1'700'000'000'000);
  EXPECT_EQ(entries.heap_bytes(), 0u);
  EXPECT_TRUE(entries.empty());
  EXPECT_EQ(entries.size(), 0u);
  entries.set_last(kMaxTime);  // beyond the inline range: a block of no entries
  EXPECT_GT(entries.heap_bytes(), 0u);
  EXPECT_TRUE(entries.empty());
  EXPECT_EQ(entries.last(), kMaxTime);
  entries.set_last(kMinTime);
  EXPECT_EQ(entries.heap_bytes(), 0u);
  EXPECT_EQ(entries.last(), kMinTime);
}

}  // namespace
}  // namespace segflow

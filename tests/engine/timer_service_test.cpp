// Timer service: ordering, de-duplication, deletion, snapshot, and random operation
// sequences against a std::set reference.
#include "engine/timer_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace segflow {
namespace {

TEST(TimerServiceTest, FiresDueTimersInTimeOrderOnce) {
  TimerService t;
  t.register_timer(TimeDomain::kEventTime, 30, "b");
  t.register_timer(TimeDomain::kEventTime, 10, "a");
  t.register_timer(TimeDomain::kEventTime, 10, "a");  // duplicate
  t.register_timer(TimeDomain::kEventTime, 20, "a", 1);
  t.register_timer(TimeDomain::kProcessingTime, 5, "p");
  EXPECT_EQ(t.size(), 4u);
  EXPECT_EQ(t.next_time(TimeDomain::kEventTime), 10);
  Timer out;
  std::vector<int64_t> fired;
  while (t.pop_due(TimeDomain::kEventTime, 25, out)) fired.push_back(out.time);
  EXPECT_EQ(fired, (std::vector<int64_t>{10, 20}));
  t.delete_timer(TimeDomain::kEventTime, 30, "b");
  EXPECT_FALSE(t.pop_due(TimeDomain::kEventTime, 100, out));
  EXPECT_TRUE(t.pop_due(TimeDomain::kProcessingTime, 5, out));
  EXPECT_EQ(out.key, "p");
}

TEST(TimerServiceTest, SnapshotRoundTrip) {
  TimerService t;
  t.register_timer(TimeDomain::kEventTime, 7, "k", 3);
  t.register_timer(TimeDomain::kProcessingTime, 9, "q");
  StateWriter w;
  t.snapshot(w);
  TimerService u;
  StateReader r(w.data());
  u.restore(r);
  Timer out;
  ASSERT_TRUE(u.pop_due(TimeDomain::kEventTime, 7, out));
  EXPECT_EQ(out.key, "k");
  EXPECT_EQ(out.tag, 3u);
  EXPECT_EQ(u.next_time(TimeDomain::kProcessingTime), 9);
}

TEST(TimerServiceTest, DeletedThenRegisteredAgainFiresOnce) {
  TimerService t;
  t.register_timer(TimeDomain::kEventTime, 10, "a");
  t.delete_timer(TimeDomain::kEventTime, 10, "a");
  t.register_timer(TimeDomain::kEventTime, 10, "a");
  EXPECT_EQ(t.size(), 1u);
  Timer out;
  ASSERT_TRUE(t.pop_due(TimeDomain::kEventTime, 10, out));
  EXPECT_EQ(out.key, "a");
  EXPECT_FALSE(t.pop_due(TimeDomain::kEventTime, 100, out));
  EXPECT_EQ(t.next_time(TimeDomain::kEventTime), INT64_MAX);
}

TEST(TimerServiceTest, MoveTimerIsDeleteThenRegister) {
  TimerService t;
  t.register_timer(TimeDomain::kEventTime, 10, "a", 1);
  t.register_timer(TimeDomain::kEventTime, 20, "b", 1);
  t.move_timer(TimeDomain::kEventTime, 10, 30, "a", 1);
  t.move_timer(TimeDomain::kEventTime, 20, 20, "b", 1);  // same time: stays
  t.move_timer(TimeDomain::kEventTime, 99, 5, "c", 1);   // nothing at 99: only registers
  EXPECT_EQ(t.size(), 3u);
  Timer out;
  std::vector<std::string> fired;
  while (t.pop_due(TimeDomain::kEventTime, 100, out))
    fired.push_back(out.key + std::to_string(out.time));
  EXPECT_EQ(fired, (std::vector<std::string>{"c5", "b20", "a30"}));
}

TEST(TimerServiceTest, NextTimeSkipsDeletedTimers) {
  TimerService t;
  t.register_timer(TimeDomain::kEventTime, 10, "a");
  t.register_timer(TimeDomain::kEventTime, 20, "b");
  t.register_timer(TimeDomain::kEventTime, 30, "c");
  t.delete_timer(TimeDomain::kEventTime, 10, "a");
  EXPECT_EQ(t.next_time(TimeDomain::kEventTime), 20);
  t.delete_timer(TimeDomain::kEventTime, 20, "b");
  EXPECT_EQ(t.next_time(TimeDomain::kEventTime), 30);
  t.delete_timer(TimeDomain::kEventTime, 30, "x");  // unknown key: nothing happens
  t.delete_timer(TimeDomain::kEventTime, 31, "c");  // unknown time
  EXPECT_EQ(t.size(), 1u);
  t.delete_timer(TimeDomain::kProcessingTime, 30, "c");  // other domain
  EXPECT_EQ(t.next_time(TimeDomain::kEventTime), 30);
}

TEST(TimerServiceTest, TimersOfTheSameTimeFireInKeyOrderWhateverTheRegistrationOrder) {
  TimerService t;
  // "z" is registered first (and its key interned first), then fired and re-registered, so
  // internal key ids and name order disagree.
  t.register_timer(TimeDomain::kEventTime, 1, "z");
  t.register_timer(TimeDomain::kEventTime, 1, "a");
  Timer out;
  while (t.pop_due(TimeDomain::kEventTime, 1, out)) {
  }
  for (const char* key : {"m", "z", "b", "a"}) t.register_timer(TimeDomain::kEventTime, 5, key, 1);
  t.register_timer(TimeDomain::kEventTime, 5, "b", 0);
  std::vector<std::string> fired;
  while (t.pop_due(TimeDomain::kEventTime, 5, out))
    fired.push_back(out.key + std::to_string(out.tag));
  EXPECT_EQ(fired, (std::vector<std::string>{"a1", "b0", "b1", "m1", "z1"}));
}

// Keys are ordered by their first 8 bytes without reading them, then by the whole key: keys
// that share those bytes, are shorter than 8 bytes, hold zero bytes or bytes above 0x7F (and
// longer than a key is kept inline) still fire in std::string order.
TEST(TimerServiceTest, KeysSharingTheirFirstBytesFireInStringOrder) {
  const std::vector<std::string> keys = {"abcdefgh1",
                                         "abcdefgh0",
                                         "abcdefgh",
                                         "abc",
                                         std::string("abc\0", 4),
                                         std::string("abc\0\0\0\0\0\0", 9),
                                         "ab\xff",
                                         "",
                                         "b",
                                         std::string(60, 'x') + "2",
                                         std::string(60, 'x') + "1"};
  TimerService t;
  for (const std::string& key : keys) t.register_timer(TimeDomain::kEventTime, 7, key);
  std::vector<std::string> fired;
  Timer out;
  while (t.pop_due(TimeDomain::kEventTime, 7, out)) fired.push_back(out.key);
  std::vector<std::string> expected = keys;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(fired, expected);
}

TEST(TimerServiceTest, TimersRegisteredWhileFiringFireInTheSamePassIfDue) {
  TimerService t;
  t.register_timer(TimeDomain::kEventTime, 10, "a");
  Timer out;
  std::vector<int64_t> fired;
  while (t.pop_due(TimeDomain::kEventTime, 15, out)) {
    fired.push_back(out.time);
    if (out.time == 10) {
      t.register_timer(TimeDomain::kEventTime, 12, "a");  // due: fires in this pass
      t.register_timer(TimeDomain::kEventTime, 16, "a");  // not due
    }
  }
  EXPECT_EQ(fired, (std::vector<int64_t>{10, 12}));
  EXPECT_EQ(t.next_time(TimeDomain::kEventTime), 16);
}

TEST(TimerServiceTest, SnapshotHoldsOnlyLiveTimersAndRestoresByKeyGroup) {
  TimerService t;
  std::vector<std::string> keys;
  for (int i = 0; i < 200; ++i) {
    keys.push_back("user-" + std::to_string(i));
    t.register_timer(TimeDomain::kEventTime, 1000 + i, keys.back(), 2);
    t.register_timer(TimeDomain::kEventTime, 5000 + i, keys.back(), 2);
    t.delete_timer(TimeDomain::kEventTime, 5000 + i, keys.back(), 2);
  }
  StateWriter w;
  t.snapshot(w);
  constexpr uint32_t kMaxParallelism = 16;
  const KeyGroupRange half = KeyGroupRange::for_subtask(1, kMaxParallelism, 2);
  TimerService restored;
  StateReader r(w.data());
  restored.restore(r, half, kMaxParallelism);
  std::vector<int64_t> expected;
  for (int i = 0; i < 200; ++i)
    if (half.contains(key_group_of(keys[static_cast<size_t>(i)], kMaxParallelism)))
      expected.push_back(1000 + i);
  ASSERT_GT(expected.size(), 0u);
  ASSERT_LT(expected.size(), 200u);
  std::vector<int64_t> fired;
  Timer out;
  while (restored.pop_due(TimeDomain::kEventTime, INT64_MAX, out)) {
    fired.push_back(out.time);
    EXPECT_EQ(out.tag, 2u);
  }
  EXPECT_EQ(fired, expected);
}

TEST(TimerServiceTest, ManyKeysComeAndGoInKeyOrder) {
  TimerService t;
  Timer out;
  for (int64_t round = 1; round <= 4; ++round) {
    std::vector<std::string> keys;
    for (int i = 0; i < 3000; ++i)
      keys.push_back("r" + std::to_string(round) + "-" + std::to_string(i));
    for (auto it = keys.rbegin(); it != keys.rend(); ++it)
      t.register_timer(TimeDomain::kEventTime, round, *it);
    std::sort(keys.begin(), keys.end());
    std::vector<std::string> fired;
    while (t.pop_due(TimeDomain::kEventTime, round, out)) fired.push_back(out.key);
    EXPECT_EQ(fired, keys);
    EXPECT_EQ(t.size(), 0u);
  }
}

// Random register / delete / move / pop sequences (with many deletions, so stale entries are
// dropped and the heap rebuilt, and keys whose timers are all gone, so key ids are reused)
// against a std::set of the pending timers.
TEST(TimerServiceTest, MatchesASetOnRandomOperations) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    TimerService t;
    std::set<Timer> reference;
    int64_t now = 0;
    auto random_timer = [&] {
      // Mostly within a few time buckets of `now`, some far later.
      const uint64_t span = rng() % 4 == 0 ? 20'000 : 3000;
      return Timer{now + static_cast<int64_t>(rng() % span),
                   "k" + std::to_string(rng() % (seed % 3 == 0   ? 5
                                                 : seed % 3 == 1 ? 300
                                                                 : 3000)),
                   static_cast<uint32_t>(rng() % 2)};
    };
    for (int step = 0; step < 6000; ++step) {
      // Phases of 500 steps: mostly registering, then mostly deleting pending timers.
      const bool shrinking = (step / 500) % 2 == 1;
      const uint64_t op = rng() % 10;
      if (op < (shrinking ? 1u : 6u)) {
        const Timer x = random_timer();
        t.register_timer(TimeDomain::kEventTime, x.time, x.key, x.tag);
        reference.insert(x);
      } else if (op < 8) {
        Timer x = random_timer();
        if (!reference.empty() && (shrinking || rng() % 2 == 0)) {
          auto it = reference.begin();
          std::advance(it, static_cast<long>(rng() % reference.size()));
          x = *it;
        }
        reference.erase(x);
        if (op == 7) {  // moved rather than deleted
          const Timer moved{random_timer().time, x.key, x.tag};
          t.move_timer(TimeDomain::kEventTime, x.time, moved.time, x.key, x.tag);
          reference.insert(moved);
        } else {
          t.delete_timer(TimeDomain::kEventTime, x.time, x.key, x.tag);
        }
      } else {
        now += static_cast<int64_t>(rng() % 40);
        Timer out;
        while (t.pop_due(TimeDomain::kEventTime, now, out)) {
          ASSERT_FALSE(reference.empty()) << "seed " << seed << " step " << step;
          EXPECT_EQ(out, *reference.begin()) << "seed " << seed << " step " << step;
          reference.erase(reference.begin());
          if (rng() % 3 == 0) {  // registered while firing, maybe due
            const Timer x{now + static_cast<int64_t>(rng() % 3) - 1, out.key, out.tag};
            t.register_timer(TimeDomain::kEventTime, x.time, x.key, x.tag);
            reference.insert(x);
          }
        }
        ASSERT_TRUE(reference.empty() || reference.begin()->time > now) << "seed " << seed;
      }
      ASSERT_EQ(t.size(), reference.size()) << "seed " << seed << " step " << step;
      ASSERT_EQ(t.next_time(TimeDomain::kEventTime),
                reference.empty() ? INT64_MAX : reference.begin()->time)
          << "seed " << seed << " step " << step;
    }
    StateWriter w;
    t.snapshot(w);
    StateReader r(w.data());
    auto snapshotted = read_state<std::vector<Timer>>(r);  // in no set order
    std::sort(snapshotted.begin(), snapshotted.end());
    EXPECT_EQ(snapshotted, std::vector<Timer>(reference.begin(), reference.end()));
  }
}

}  // namespace
}  // namespace segflow

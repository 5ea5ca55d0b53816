// Timer service: ordering, de-duplication, deletion, snapshot.
#include "engine/timer_service.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace segflow

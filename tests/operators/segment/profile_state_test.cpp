#include "operators/segment/profile_state.h"

#include <gtest/gtest.h>

namespace segflow {
namespace {

ProfileState sample(int64_t base, const std::string& plan) {
  ProfileState s;
  s.leaf_or_create(0).entries = {{base + 1, 1.0}, {base + 5, 2.0}};
  s.leaf_or_create(2).set_last(base + 7);
  s.update_property(intern("traits.plan"), base + 3, OwnedValue::from(Value::string(plan)));
  PendingEvent e;
  e.time = base + 100;
  e.feeds.push_back({LeafFeed::Role::kMatch, 0, 4.0});
  s.buffer(e);
  s.last_event_time = base + 7;
  s.applied_until = base + 50;
  return s;
}

TEST(ProfileState, MergeCombinesWindowsLatestValuesAndBuffers) {
  ProfileState a = sample(0, "free");
  const ProfileState b = sample(2, "pro");
  a.set_inside(3, true);
  a.merge(b);
  ASSERT_NE(a.leaf(0), nullptr);
  const LeafEntries window = {{1, 1.0}, {3, 1.0}, {5, 2.0}, {7, 2.0}};
  EXPECT_EQ(a.leaf(0)->entries, window);
  EXPECT_EQ(a.leaf(2)->last(), 9);
  EXPECT_EQ(a.property(intern("traits.plan"))->value.string, "pro");
  ASSERT_EQ(a.buffered.size(), 2u);
  EXPECT_EQ(a.buffered[0].time, 100);
  EXPECT_EQ(a.buffered[1].time, 102);
  EXPECT_EQ(a.last_event_time, 9);
  EXPECT_EQ(a.applied_until, 52);
  EXPECT_EQ(a.inside, std::vector<uint32_t>{3});
}

TEST(ProfileState, MergeIsSymmetricForLeavesAndProperties) {
  ProfileState ab = sample(0, "free");
  ab.merge(sample(0, "pro"));  // same time: the greater value wins, whatever the order
  ProfileState ba = sample(0, "pro");
  ba.merge(sample(0, "free"));
  EXPECT_EQ(ab.leaf(0)->entries, ba.leaf(0)->entries);
  EXPECT_EQ(ab.property(intern("traits.plan"))->value.string,
            ba.property(intern("traits.plan"))->value.string);
}

TEST(ProfileState, SnapshotRoundTrip) {
  ProfileState s = sample(10, "pro");
  s.set_inside(1, true);
  s.timer = 110;
  StateWriter w;
  s.write(w);
  StateReader r(w.data());
  ProfileState back = ProfileState::read(r);
  EXPECT_TRUE(r.done());
  ASSERT_NE(back.leaf(0), nullptr);
  EXPECT_EQ(back.leaf(0)->entries, s.leaf(0)->entries);
  EXPECT_EQ(back.property(intern("traits.plan"))->value.string, "pro");
  EXPECT_EQ(back.buffered.size(), 1u);
  EXPECT_EQ(back.buffered[0].feeds, s.buffered[0].feeds);
  EXPECT_EQ(back.inside, s.inside);
  EXPECT_EQ(back.timer, 110);
  StateReader truncated(std::string_view(w.data()).substr(0, w.data().size() / 2));
  EXPECT_THROW(ProfileState::read(truncated), StateFormatError);
}

// move_deadline keeps the deadlines ascending, moves in place (the block stays), and adds a
// deadline it does not find.
TEST(ProfileState, MoveDeadlineKeepsTheOrderInPlace) {
  ProfileState s;
  for (uint32_t id = 0; id < 5; ++id) s.add_deadline({100 * (id + 1), id});
  const Deadline* block = s.deadlines.data();
  s.move_deadline({200, 1}, 450);  // later
  s.move_deadline({500, 4}, 50);   // earliest
  s.move_deadline({300, 2}, 300);  // unchanged
  EXPECT_EQ(s.deadlines.data(), block);
  const std::vector<Deadline> moved = {{50, 4}, {100, 0}, {300, 2}, {400, 3}, {450, 1}};
  EXPECT_EQ(s.deadlines, moved);
  s.move_deadline({999, 7}, 420);  // absent: added
  const std::vector<Deadline> added = {{50, 4}, {100, 0}, {300, 2}, {400, 3}, {420, 7}, {450, 1}};
  EXPECT_EQ(s.deadlines, added);
}

TEST(ProfileState, OlderPropertyValuesDoNotOverwrite) {
  ProfileState s;
  const SymbolId plan = intern("traits.plan");
  EXPECT_TRUE(s.update_property(plan, 10, OwnedValue::from(Value::string("pro"))));
  EXPECT_FALSE(s.update_property(plan, 5, OwnedValue::from(Value::string("free"))));
  EXPECT_FALSE(s.update_property(plan, 11, OwnedValue::from(Value::string("pro"))));
  EXPECT_TRUE(s.update_property(plan, 12, OwnedValue::from(Value::null())));
  EXPECT_EQ(s.property(plan)->value.type, ValueType::kNull);
}

}  // namespace
}  // namespace segflow

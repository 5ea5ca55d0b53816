#include "connectors/http_ingest/ingest_queue.h"

#include <gtest/gtest.h>

#include <vector>

#include "engine/symbol_table.h"

namespace segflow {
namespace {

IngestQueue::Entry entry_of(size_t events, std::vector<bool>* answers) {
  IngestQueue::Entry e{BatchPool::acquire(),
                       [answers](bool accepted) { answers->push_back(accepted); }};
  for (size_t i = 0; i < events; ++i) e.batch->add(EventKind::kTrack, "u", 1, intern("x"));
  return e;
}

TEST(IngestQueueTest, RefusesWhatDoesNotFitAndTakesWholeEntries) {
  IngestQueue queue(10);
  std::vector<bool> answers;
  auto a = entry_of(6, &answers);
  auto b = entry_of(5, &answers);
  auto c = entry_of(4, &answers);
  EXPECT_EQ(queue.push(a), IngestQueue::PushResult::kQueued);
  EXPECT_EQ(queue.push(b), IngestQueue::PushResult::kFull);
  EXPECT_NE(b.batch, nullptr);  // left to the caller to answer
  EXPECT_EQ(queue.push(c), IngestQueue::PushResult::kQueued);
  EXPECT_EQ(queue.queued_events(), 10u);
  std::vector<IngestQueue::Entry> taken;
  queue.pop(8, taken);  // 6 fits, 6 + 4 does not
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].batch->size(), 6u);
  EXPECT_EQ(queue.queued_events(), 4u);
}

TEST(IngestQueueTest, TakesAnOversizedEntryWhenEmpty) {
  IngestQueue queue(3);
  std::vector<bool> answers;
  auto big = entry_of(5, &answers);
  EXPECT_EQ(queue.push(big), IngestQueue::PushResult::kQueued);
  std::vector<IngestQueue::Entry> taken;
  queue.pop(1, taken);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].batch->size(), 5u);
}

TEST(IngestQueueTest, CloseHandsBackTheQueuedEntriesAndRefusesMore) {
  IngestQueue queue(10);
  std::vector<bool> answers;
  auto a = entry_of(2, &answers);
  auto b = entry_of(2, &answers);
  ASSERT_EQ(queue.push(a), IngestQueue::PushResult::kQueued);
  auto left = queue.close();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(queue.queued_events(), 0u);
  EXPECT_EQ(queue.push(b), IngestQueue::PushResult::kClosed);
}

}  // namespace
}  // namespace segflow

// Channel: FIFO order across threads, blocking when full (backpressure counted), batches
// handed over intact, deferred wake-ups of the consumer (only while batches come quickly).
#include "engine/channel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace segflow {
namespace {

TEST(ChannelTest, KeepsOrderAcrossThreadsAndBlocksWhenFull) {
  Wakeup consumer;
  Channel ch("a->b", 4, consumer);
  constexpr int kCount = 20'000;
  std::thread producer([&] {
    for (int i = 0; i < kCount; ++i) {
      BatchPtr b = BatchPool::acquire();
      b->add(EventKind::kTrack, "k", i, intern("e"));
      ch.push_batch(std::move(b));
      if (i % 1000 == 0) ch.push(Element{ElementKind::kWatermark, i, nullptr});
    }
    ch.push(Element{ElementKind::kEndOfStream, 0, nullptr});
  });
  int expected = 0;
  int64_t last_watermark = -1;
  for (bool done = false; !done;) {
    Element e;
    if (!ch.pop(e)) {
      consumer.wait_until_ready([&] { return ch.has_data(); }, std::chrono::milliseconds(10));
      continue;
    }
    EXPECT_LE(ch.size(), ch.capacity());
    switch (e.kind) {
      case ElementKind::kBatch: {
        BatchPtr b(e.batch);
        ASSERT_EQ(b->size(), 1u);
        EXPECT_EQ(b->records()[0].event_time, expected++);
        if (expected % 3000 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        break;
      }
      case ElementKind::kWatermark:
        // A watermark arrives after the batch with the same number.
        EXPECT_EQ(e.value, expected - 1);
        EXPECT_GT(e.value, last_watermark);
        last_watermark = e.value;
        break;
      case ElementKind::kEndOfStream:
        done = true;
        break;
      default:
        FAIL();
    }
  }
  producer.join();
  EXPECT_EQ(expected, kCount);
  EXPECT_GT(ch.blocked_ns(), 0u);  // the consumer's pauses filled the 4 slots
}

TEST(ChannelTest, StopReleasesABlockedProducer) {
  Wakeup consumer;
  Channel ch("a->b", 2, consumer);
  std::atomic<bool> stop{false};
  ASSERT_TRUE(ch.push(Element{ElementKind::kWatermark, 1, nullptr}, &stop));
  ASSERT_TRUE(ch.push(Element{ElementKind::kWatermark, 2, nullptr}, &stop));
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stop = true;
  });
  EXPECT_FALSE(ch.push_batch(BatchPool::acquire(), &stop));  // dropped, not leaked
  stopper.join();
}

void drain(Channel& ch) {
  Element e;
  while (ch.pop(e))
    if (e.kind == ElementKind::kBatch) BatchPool::release(e.batch);
}

TEST(ChannelTest, DeferredPushWakesTheConsumerOnceAFewWaitOrWhenTold) {
  Wakeup consumer;
  Channel ch("a->b", 16, consumer);
  int64_t now = 1'000'000'000;
  // Batches closer together than kRapidPushNs: the producer is under load.
  const auto soon = [&] { return now += Channel::kRapidPushNs / 2; };
  ch.push_batch_deferred(BatchPool::acquire(), now);
  EXPECT_FALSE(ch.deferred());  // the first batch: no load seen yet
  drain(ch);
  ch.push_batch_deferred(BatchPool::acquire(), soon());
  EXPECT_TRUE(ch.deferred());
  EXPECT_TRUE(ch.wake_consumer());
  EXPECT_FALSE(ch.deferred());
  EXPECT_FALSE(ch.wake_consumer());  // nothing left to tell
  for (size_t i = 2; i < Channel::kWakeAfter; ++i) {
    ch.push_batch_deferred(BatchPool::acquire(), soon());
    EXPECT_TRUE(ch.deferred()) << i;
  }
  ch.push_batch_deferred(BatchPool::acquire(), soon());  // the kWakeAfter-th waiting element
  EXPECT_FALSE(ch.deferred());
  ch.push_batch_deferred(BatchPool::acquire(), soon());
  EXPECT_FALSE(ch.deferred());  // more than kWakeAfter wait: every push wakes
  drain(ch);
  ch.push_batch_deferred(BatchPool::acquire(), soon());
  ch.push(Element{ElementKind::kWatermark, 1, nullptr});  // control elements always wake
  EXPECT_FALSE(ch.deferred());
  drain(ch);
}

TEST(ChannelTest, BatchAfterAPauseWakesTheConsumerAtOnce) {
  Wakeup consumer;
  Channel ch("a->b", 16, consumer);
  const int64_t start = 1'000'000'000;
  ch.push_batch_deferred(BatchPool::acquire(), start);
  ch.push_batch_deferred(BatchPool::acquire(), start + 1);
  EXPECT_TRUE(ch.deferred());
  // The producer slowed down: this batch wakes the consumer, for the one before too.
  ch.push_batch_deferred(BatchPool::acquire(), start + 1 + Channel::kRapidPushNs);
  EXPECT_FALSE(ch.deferred());
  EXPECT_FALSE(ch.wake_consumer());
  drain(ch);
}

// A consumer asleep on an empty channel (`has_data`) for longer than ctest lets the test run
// (600 s): only a wake-up by the producer lets `reader` end in time. Returns once the reader
// most likely sleeps.
std::thread sleeping_reader(Wakeup& consumer, Channel& ch) {
  std::atomic<bool> waiting{false};
  std::thread reader([&consumer, &ch, &waiting] {
    waiting = true;
    consumer.wait_until_ready([&] { return ch.has_data(); }, std::chrono::minutes(30));
  });
  while (!waiting) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return reader;
}

TEST(ChannelTest, SleepingConsumerWakesWhenTheProducerSaysSo) {
  Wakeup consumer;
  Channel ch("a->b", 16, consumer);
  const int64_t start = 1'000'000'000;
  ch.push_batch_deferred(BatchPool::acquire(), start);
  drain(ch);
  std::thread reader = sleeping_reader(consumer, ch);
  ch.push_batch_deferred(BatchPool::acquire(), start + 1);  // under load: deferred
  EXPECT_TRUE(ch.deferred());
  ch.wake_consumer();
  reader.join();
  Element e;
  ASSERT_TRUE(ch.pop(e));
  BatchPool::release(e.batch);
}

TEST(ChannelTest, SleepingConsumerWakesForABatchAfterAPauseUntold) {
  Wakeup consumer;
  Channel ch("a->b", 16, consumer);
  const int64_t start = 1'000'000'000;
  ch.push_batch_deferred(BatchPool::acquire(), start);
  drain(ch);
  std::thread reader = sleeping_reader(consumer, ch);
  // No wake_consumer(): a producer that went quiet after this batch (or was descheduled
  // before telling) must not leave it waiting.
  ch.push_batch_deferred(BatchPool::acquire(), start + Channel::kRapidPushNs);
  reader.join();
  Element e;
  ASSERT_TRUE(ch.pop(e));
  BatchPool::release(e.batch);
}

}  // namespace
}  // namespace segflow

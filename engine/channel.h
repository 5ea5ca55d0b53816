// Channel: the bounded single-producer/single-consumer queue of one graph edge between two
// subtasks. Data batches and control elements (watermark, idle marker, checkpoint barrier,
// end of stream) travel in it in order. A full channel blocks its producer: that is
// backpressure, and the time blocked is counted.
// Thread safety: push* from the producer thread only; pop/peek from the consumer only;
// observers (size, blocked_ns) from anywhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <boost/lockfree/spsc_queue.hpp>

#include "engine/batch.h"
#include "engine/wakeup.h"

namespace segflow {

enum class ElementKind : uint8_t {
  kBatch,        // batch: records
  kWatermark,    // value: event time up to which the input is complete
  kIdle,         // the producer has no data for now; do not wait for its watermark
  kBarrier,      // value: checkpoint id
  kEndOfStream,  // the producer is finished
};

// What a channel carries. Owns `batch` (when kind == kBatch) until popped.
struct Element {
  ElementKind kind = ElementKind::kEndOfStream;
  int64_t value = 0;
  Batch* batch = nullptr;
};

class Channel {
 public:
  // `consumer_wakeup` is shared by all input channels of the consuming subtask.
  Channel(std::string name, size_t capacity, Wakeup& consumer_wakeup);
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // Producer-side: blocks while the channel is full, unless `stop` becomes true (then the
  // element is dropped and false returned: only used when the job is cancelled).
  bool push(Element e, const std::atomic<bool>* stop = nullptr);
  bool push_batch(BatchPtr batch, const std::atomic<bool>* stop = nullptr);
  // push_batch for a producer under load: when the previous batch came less than
  // kRapidPushNs before (`now_ns`, the producer's steady clock), a sleeping consumer is left
  // asleep until kWakeAfter elements wait (a consumer faster than its producer then wakes
  // once per few batches, not per batch); the producer calls wake_consumer() when it stops
  // sending for now, and within about a millisecond while it keeps going
  // (Router::wake_consumers_if_due). A batch after a pause wakes the consumer at once: at
  // low rates a batch never waits for the producer's next wake-up call, which a producer
  // descheduled by the OS would delay by its time off the CPU (engine/README.md,
  // "End-to-end latency").
  bool push_batch_deferred(BatchPtr batch, int64_t now_ns, const std::atomic<bool>* stop = nullptr);
  // Producer-side: wakes the consumer if a deferred push has not yet. True if it had to.
  bool wake_consumer() {
    if (!deferred_) return false;
    deferred_ = false;
    consumer_wakeup_.notify();
    return true;
  }
  bool deferred() const { return deferred_; }
  // Producer-side: whether a push would block now.
  bool full() const { return queue_.write_available() == 0; }
  static constexpr size_t kWakeAfter = 4;
  static constexpr int64_t kRapidPushNs = 200'000;

  // Consumer-side.
  bool pop(Element& e);
  bool has_data() const { return queue_.read_available() > 0; }

  // Observers.
  const std::string& name() const { return name_; }
  size_t capacity() const { return capacity_; }
  // Approximate from another thread: the two sides update it just after their push / pop.
  size_t size() const {
    const int64_t n = size_.load(std::memory_order_relaxed);
    return n < 0 ? 0 : static_cast<size_t>(n);
  }
  uint64_t blocked_ns() const { return blocked_ns_.load(std::memory_order_relaxed); }

 private:
  bool push(Element e, const std::atomic<bool>* stop, bool defer_wakeup);

  std::string name_;
  size_t capacity_;
  size_t resume_free_;  // a blocked producer resumes when this many slots are free
  boost::lockfree::spsc_queue<Element> queue_;
  Wakeup& consumer_wakeup_;
  Wakeup producer_wakeup_;
  bool deferred_ = false;  // producer-side: a deferred push has not woken the consumer
  int64_t last_batch_ns_ = INT64_MIN / 2;  // producer-side: push_batch_deferred's last now_ns
  std::atomic<int64_t> size_{0};
  std::atomic<uint64_t> blocked_ns_{0};
};

}  // namespace segflow

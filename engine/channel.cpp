#include "engine/channel.h"

#include <algorithm>
#include <chrono>

namespace segflow {

Channel::Channel(std::string name, size_t capacity, Wakeup& consumer_wakeup)
    : name_(std::move(name)),
      capacity_(capacity),
      resume_free_(std::max<size_t>(1, capacity / 2)),
      queue_(capacity),
      consumer_wakeup_(consumer_wakeup) {}

Channel::~Channel() {
  Element e;
  while (queue_.pop(e))
    if (e.kind == ElementKind::kBatch) BatchPool::release(e.batch);
}

bool Channel::push(Element e, const std::atomic<bool>* stop) { return push(e, stop, false); }

bool Channel::push(Element e, const std::atomic<bool>* stop, bool defer_wakeup) {
  if (!queue_.push(e)) {
    const auto start = std::chrono::steady_clock::now();
    wake_consumer();  // what it has not been told of must not wait while we do
    while (!queue_.push(e)) {
      if (stop != nullptr && stop->load(std::memory_order_relaxed)) {
        if (e.kind == ElementKind::kBatch) BatchPool::release(e.batch);
        return false;
      }
      // Until half the channel is free (or 5 ms pass): a producer faster than its consumer
      // then sleeps once per half channel of batches, not once per batch.
      producer_wakeup_.wait_until_ready([&] { return queue_.write_available() >= resume_free_; },
                                        std::chrono::milliseconds(5));
    }
    const auto waited = std::chrono::steady_clock::now() - start;
    blocked_ns_.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(waited).count(),
                          std::memory_order_relaxed);
  }
  size_.fetch_add(1, std::memory_order_relaxed);
  if (defer_wakeup && capacity_ - queue_.write_available() < kWakeAfter) {
    deferred_ = true;
    return true;
  }
  deferred_ = false;
  consumer_wakeup_.notify();
  return true;
}

bool Channel::push_batch(BatchPtr batch, const std::atomic<bool>* stop) {
  return push(Element{ElementKind::kBatch, 0, batch.release()}, stop, false);
}

bool Channel::push_batch_deferred(BatchPtr batch, int64_t now_ns, const std::atomic<bool>* stop) {
  const bool under_load = now_ns - last_batch_ns_ < kRapidPushNs;
  last_batch_ns_ = now_ns;
  return push(Element{ElementKind::kBatch, 0, batch.release()}, stop, under_load);
}

bool Channel::pop(Element& e) {
  if (!queue_.pop(e)) return false;
  size_.fetch_sub(1, std::memory_order_relaxed);
  if (queue_.read_available() + resume_free_ <= capacity_) producer_wakeup_.notify();
  return true;
}

}  // namespace segflow

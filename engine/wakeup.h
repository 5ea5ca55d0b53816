// Wakeup: lets a thread sleep until another thread signals it, without a lock on the
// signalling side when nobody sleeps. Used by channels: a consumer sleeps when all its
// inputs are empty, a producer when its output is full.
// Thread safety: notify() from any thread; wait_until_ready() from the one owning thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace segflow {

class Wakeup {
 public:
  // Call after making progress visible to the sleeper (a push, a pop).
  void notify() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_relaxed)) {
      std::lock_guard lock(mutex_);
      ++epoch_;
      cv_.notify_all();
    }
  }

  // Sleeps until notified or `timeout` passes, unless `ready()` already holds.
  template <class Ready>
  void wait_until_ready(Ready ready, std::chrono::microseconds timeout) {
    std::unique_lock lock(mutex_);
    const uint64_t seen = epoch_;
    sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!ready()) cv_.wait_for(lock, timeout, [&] { return epoch_ != seen; });
    sleeping_.store(false, std::memory_order_relaxed);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  uint64_t epoch_ = 0;
  std::atomic<bool> sleeping_{false};
};

}  // namespace segflow

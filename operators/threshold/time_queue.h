// TimeQueue: event times kept in ascending order, for windows that admit times at the back
// and age them out at the front. Appending a time not below the last one and removing the
// first are amortised O(1); an earlier time is inserted in place (O(n)). Up to two times are
// kept inside the queue itself (32 bytes), so a profile with few events in its window costs
// no allocation and no second cache line. A moved-from queue is empty. Thread safety: a
// plain value type.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "engine/state_io.h"

namespace segflow {

class TimeQueue {
 public:
  TimeQueue() = default;
  TimeQueue(const TimeQueue& other) {
    for (size_t i = other.head_; i < other.end_; ++i) insert(other.data()[i]);
  }
  TimeQueue(TimeQueue&& other) noexcept { take(other); }
  TimeQueue& operator=(const TimeQueue& other) {
    if (this != &other) {
      TimeQueue copy(other);
      *this = std::move(copy);
    }
    return *this;
  }
  TimeQueue& operator=(TimeQueue&& other) noexcept {
    if (this != &other) {
      free_heap();
      take(other);
    }
    return *this;
  }
  ~TimeQueue() { free_heap(); }

  bool empty() const { return head_ == end_; }
  size_t size() const { return end_ - head_; }
  // REQUIRES: !empty().
  int64_t front() const { return data()[head_]; }

  void insert(int64_t time) {
    if (end_ == capacity_) make_room();
    int64_t* d = data();
    if (empty() || time >= d[end_ - 1]) {
      d[end_++] = time;
      return;
    }
    int64_t* at = std::upper_bound(d + head_, d + end_, time);
    std::move_backward(at, d + end_, d + end_ + 1);
    *at = time;
    ++end_;
  }

  // REQUIRES: !empty().
  void pop_front() {
    if (++head_ == end_) head_ = end_ = 0;
  }

  void write(StateWriter& w) const {
    w.u64(size());
    w.bytes(data() + head_, size() * sizeof(int64_t));  // as write_state per time
  }
  static TimeQueue read(StateReader& r) {
    TimeQueue q;
    for (uint64_t n = r.u64(); n > 0; --n) q.insert(read_state<int64_t>(r));
    return q;
  }

 private:
  static constexpr uint32_t kInline = 2;

  bool on_heap() const { return capacity_ > kInline; }
  int64_t* data() { return on_heap() ? heap_ : inline_; }
  const int64_t* data() const { return on_heap() ? heap_ : inline_; }
  // Full: moves the times to the front if that frees at least half the room (so each time
  // is moved O(1) times on average), else doubles the capacity.
  void make_room() {
    int64_t* d = data();
    const uint32_t n = end_ - head_;
    if (n <= capacity_ / 2) {
      std::move(d + head_, d + end_, d);
    } else {
      const uint32_t capacity = capacity_ * 2;
      auto* grown = new int64_t[capacity];
      std::move(d + head_, d + end_, grown);
      free_heap();
      heap_ = grown;
      capacity_ = capacity;
    }
    head_ = 0;
    end_ = n;
  }
  void free_heap() {
    if (on_heap()) delete[] heap_;
    capacity_ = kInline;
    head_ = end_ = 0;
  }
  // REQUIRES: this queue holds no heap block.
  void take(TimeQueue& other) {
    head_ = other.head_;
    end_ = other.end_;
    capacity_ = other.capacity_;
    if (other.on_heap())
      heap_ = other.heap_;
    else
      std::copy(other.inline_, other.inline_ + kInline, inline_);
    other.capacity_ = kInline;
    other.head_ = other.end_ = 0;
  }

  uint32_t head_ = 0;  // times_[head_, end_) are the queue
  uint32_t end_ = 0;
  uint32_t capacity_ = kInline;
  union {
    int64_t inline_[kInline] = {};
    int64_t* heap_;
  };
};

}  // namespace segflow

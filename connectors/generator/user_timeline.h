// UserTimeline: a generator subtask's simulated clock: a 4-ary min-heap of each user's next
// event time (ties by user index), so events come out in time order, interleaved across
// users; 4-ary halves the depth and keeps siblings in one cache line for millions of users.
// Thread safety: none; owned by one subtask.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace segflow::generator {

class UserTimeline {
 public:
  struct Entry {
    int64_t time;
    uint32_t user;  // local index of the user in its subtask
  };

  void reserve(size_t n) { heap_.reserve(n); }
  void clear() { heap_.clear(); }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }

  void push(int64_t time, uint32_t user) {
    size_t i = heap_.size();
    heap_.push_back({time, user});
    const Entry moving = heap_[i];
    while (i > 0) {
      const size_t parent = (i - 1) / kArity;
      if (!before(moving, heap_[parent])) break;
      heap_[i] = heap_[parent];
      i = parent;
    }
    heap_[i] = moving;
  }
  // The user whose event comes next. REQUIRES: !empty().
  const Entry& next() const { return heap_.front(); }
  // Moves the next user to `time` (never earlier than its current time).
  void reschedule_next(int64_t time) {
    const size_t n = heap_.size();
    const Entry moving{time, heap_[0].user};
    size_t i = 0;
    for (;;) {
      const size_t first = kArity * i + 1;
      if (first >= n) break;
      const size_t last = first + kArity < n ? first + kArity : n;
      size_t best = first;
      for (size_t c = first + 1; c < last; ++c)
        if (before(heap_[c], heap_[best])) best = c;
      if (!before(heap_[best], moving)) break;
      heap_[i] = heap_[best];
      i = best;
    }
    heap_[i] = moving;
  }

 private:
  static constexpr size_t kArity = 4;
  static bool before(const Entry& a, const Entry& b) {
    return a.time != b.time ? a.time < b.time : a.user < b.user;
  }

  std::vector<Entry> heap_;
};

}  // namespace segflow::generator

// UserTimeline: the simulated global clock of a generator subtask. A min-heap of each
// user's next event time, so events come out in time order, interleaved across users, with
// ties broken by user index (deterministic). Thread safety: none; one subtask's own.
#pragma once

#include <algorithm>
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
    heap_.push_back({time, user});
    std::push_heap(heap_.begin(), heap_.end(), later);
  }
  // REQUIRES: !empty().
  const Entry& next() const { return heap_.front(); }
  // Moves the next user to `time` (never earlier than its current time).
  void reschedule_next(int64_t time) {
    // Sift the root down in place: one pass instead of a pop and a push.
    const size_t n = heap_.size();
    Entry moving{time, heap_[0].user};
    size_t i = 0;
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && later(heap_[child], heap_[child + 1])) ++child;
      if (!later(moving, heap_[child])) break;
      heap_[i] = heap_[child];
      i = child;
    }
    heap_[i] = moving;
  }

 private:
  // The heap order: `a` comes after `b`.
  static bool later(const Entry& a, const Entry& b) {
    return a.time != b.time ? a.time > b.time : a.user > b.user;
  }

  std::vector<Entry> heap_;
};

}  // namespace segflow::generator

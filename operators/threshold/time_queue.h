// TimeQueue: event times kept in ascending order, for windows that admit times at the back
// and age them out at the front. Appending a time not below the last one and removing the
// first are amortised O(1) without allocation beyond vector growth; an earlier time is
// inserted in place (O(n)). Thread safety: a plain value type.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/state_io.h"

namespace segflow {

class TimeQueue {
 public:
  bool empty() const { return head_ == times_.size(); }
  size_t size() const { return times_.size() - head_; }
  // REQUIRES: !empty().
  int64_t front() const { return times_[head_]; }

  void insert(int64_t time) {
    if (empty() || time >= times_.back()) {
      times_.push_back(time);
    } else {
      times_.insert(
          std::upper_bound(times_.begin() + static_cast<std::ptrdiff_t>(head_), times_.end(), time),
          time);
    }
  }

  // REQUIRES: !empty().
  void pop_front() {
    if (++head_ == times_.size()) {
      times_.clear();
      head_ = 0;
    } else if (head_ >= kCompactAfter && head_ * 2 >= times_.size()) {
      times_.erase(times_.begin(), times_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
  }

  void write(StateWriter& w) const {
    w.u64(size());
    w.bytes(times_.data() + head_, size() * sizeof(int64_t));  // as write_state per time
  }
  static TimeQueue read(StateReader& r) {
    TimeQueue q;
    for (uint64_t n = r.u64(); n > 0; --n) q.insert(read_state<int64_t>(r));
    return q;
  }

 private:
  static constexpr size_t kCompactAfter = 16;
  std::vector<int64_t> times_;
  size_t head_ = 0;
};

}  // namespace segflow

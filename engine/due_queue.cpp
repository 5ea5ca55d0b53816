#include "engine/due_queue.h"

#include <algorithm>

namespace segflow {

namespace {

// std heap functions build max-heaps: "less" is "later".
struct Later {
  template <class E>
  bool operator()(const E& a, const E& b) const {
    return a.time > b.time;
  }
};

}  // namespace

void DueQueue::push(int64_t time, std::string_view key) {
  const uint64_t offset = arena_.add(key);
  if (run_.empty() || time >= run_.back().time) {
    run_.push_back({time, offset});
    return;
  }
  // The heap grows by a quarter, not double: the slack is per key of the operator's state.
  if (heap_.size() == heap_.capacity()) heap_.reserve(heap_.size() + heap_.size() / 4 + 16);
  heap_.push_back({time, offset});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

bool DueQueue::top_in_run() const {
  return heap_.empty() || (!run_.empty() && run_.front().time <= heap_.front().time);
}

int64_t DueQueue::top_time() const { return top_in_run() ? run_.front().time : heap_.front().time; }

std::string_view DueQueue::top_key() const {
  return arena_.at(top_in_run() ? run_.front().offset : heap_.front().offset);
}

void DueQueue::pop() {
  if (top_in_run()) {
    arena_.drop(run_.front().offset);
    run_.pop_front();
  } else {
    arena_.drop(heap_.front().offset);
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  }
  if (empty()) {
    clear();
  } else if (arena_.wants_compaction()) {
    arena_.compact([&](auto&& remap) {
      for (Entry& e : run_) remap(e.offset);
      for (Entry& e : heap_) remap(e.offset);
    });
  }
}

void DueQueue::clear() {
  run_.clear();
  heap_.clear();
  arena_.clear();
}

}  // namespace segflow

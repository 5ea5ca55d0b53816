#include "operators/segment/profile_due_queue.h"

#include <algorithm>

namespace segflow {

bool ProfileDueQueue::later(const Entry& a, const Entry& b) const {
  if (a.time != b.time) return a.time > b.time;
  return arena_.at(a.offset) > arena_.at(b.offset);
}

void ProfileDueQueue::push(int64_t time, std::string_view key) {
  const uint64_t offset = arena_.add(key);
  // The heap grows by a quarter, not double: the slack is per profile.
  if (heap_.size() == heap_.capacity()) heap_.reserve(heap_.size() + heap_.size() / 4 + 16);
  heap_.push_back({time, offset});
  std::push_heap(heap_.begin(), heap_.end(),
                 [this](const Entry& a, const Entry& b) { return later(a, b); });
}

void ProfileDueQueue::pop() {
  arena_.drop(heap_.front().offset);
  std::pop_heap(heap_.begin(), heap_.end(),
                [this](const Entry& a, const Entry& b) { return later(a, b); });
  heap_.pop_back();
  if (heap_.empty()) {
    clear();
  } else if (arena_.wants_compaction()) {
    arena_.compact([&](auto&& remap) {
      for (Entry& e : heap_) remap(e.offset);
    });
  }
}

void ProfileDueQueue::clear() {
  heap_.clear();
  arena_.clear();
}

}  // namespace segflow

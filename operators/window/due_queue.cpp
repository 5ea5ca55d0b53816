#include "operators/window/due_queue.h"

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

void put_length(std::string& out, size_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

// The key stored at `offset` (its length varint, then its bytes); bytes taken.
std::string_view key_at(const std::string& arena, size_t offset, size_t* stored = nullptr) {
  size_t n = 0, at = offset;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<unsigned char>(arena[at++]);
    n |= static_cast<size_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
  }
  if (stored != nullptr) *stored = at - offset + n;
  return {arena.data() + at, n};
}

}  // namespace

void DueQueue::push(int64_t time, std::string_view key) {
  // The arena and the heap grow by a quarter, not double: the slack is per key of the
  // operator's state.
  if (arena_.capacity() - arena_.size() < key.size() + 10)
    arena_.reserve(arena_.size() + arena_.size() / 4 + key.size() + 64);
  const uint64_t offset = arena_.size();
  put_length(arena_, key.size());
  arena_.append(key);
  if (run_.empty() || time >= run_.back().time) {
    run_.push_back({time, offset});
    return;
  }
  if (heap_.size() == heap_.capacity()) heap_.reserve(heap_.size() + heap_.size() / 4 + 16);
  heap_.push_back({time, offset});
  std::push_heap(heap_.begin(), heap_.end(), Later{});
}

bool DueQueue::top_in_run() const {
  return heap_.empty() || (!run_.empty() && run_.front().time <= heap_.front().time);
}

int64_t DueQueue::top_time() const { return top_in_run() ? run_.front().time : heap_.front().time; }

std::string_view DueQueue::top_key() const {
  return key_at(arena_, top_in_run() ? run_.front().offset : heap_.front().offset);
}

void DueQueue::pop() {
  size_t stored = 0;
  if (top_in_run()) {
    key_at(arena_, run_.front().offset, &stored);
    run_.pop_front();
  } else {
    key_at(arena_, heap_.front().offset, &stored);
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    heap_.pop_back();
  }
  garbage_ += stored;
  if (empty()) {
    clear();
  } else if (garbage_ > 4096 && garbage_ * 4 > arena_.size()) {
    compact();
  }
}

void DueQueue::clear() {
  run_.clear();
  heap_.clear();
  arena_.clear();
  garbage_ = 0;
}

void DueQueue::compact() {
  std::string fresh;
  const size_t live = arena_.size() - garbage_;
  fresh.reserve(live + live / 4 + 64);
  const auto move = [&](Entry& e) {
    const std::string_view key = key_at(arena_, e.offset);
    e.offset = fresh.size();
    put_length(fresh, key.size());
    fresh.append(key);
  };
  for (Entry& e : run_) move(e);
  for (Entry& e : heap_) move(e);
  arena_ = std::move(fresh);
  garbage_ = 0;
}

}  // namespace segflow

#include "operators/segment/profile_due_queue.h"

#include <algorithm>

namespace segflow {

namespace {

void put_length(std::string& out, size_t n) {
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
}

}  // namespace

std::string_view ProfileDueQueue::key_at(uint64_t offset, size_t* stored) const {
  size_t n = 0;
  size_t at = offset;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<unsigned char>(arena_[at++]);
    n |= static_cast<size_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) break;
  }
  if (stored != nullptr) *stored = at - offset + n;
  return {arena_.data() + at, n};
}

bool ProfileDueQueue::later(const Entry& a, const Entry& b) const {
  if (a.time != b.time) return a.time > b.time;
  return key_at(a.offset) > key_at(b.offset);
}

void ProfileDueQueue::push(int64_t time, std::string_view key) {
  // The arena and the heap grow by a quarter, not double: the slack is per profile.
  if (arena_.capacity() - arena_.size() < key.size() + 10)
    arena_.reserve(arena_.size() + arena_.size() / 4 + key.size() + 64);
  const uint64_t offset = arena_.size();
  put_length(arena_, key.size());
  arena_.append(key);
  if (heap_.size() == heap_.capacity()) heap_.reserve(heap_.size() + heap_.size() / 4 + 16);
  heap_.push_back({time, offset});
  std::push_heap(heap_.begin(), heap_.end(),
                 [this](const Entry& a, const Entry& b) { return later(a, b); });
}

void ProfileDueQueue::pop() {
  size_t stored = 0;
  key_at(heap_.front().offset, &stored);
  std::pop_heap(heap_.begin(), heap_.end(),
                [this](const Entry& a, const Entry& b) { return later(a, b); });
  heap_.pop_back();
  garbage_ += stored;
  if (heap_.empty()) {
    clear();
  } else if (garbage_ > 4096 && garbage_ * 4 > arena_.size()) {
    compact();
  }
}

void ProfileDueQueue::clear() {
  heap_.clear();
  arena_.clear();
  garbage_ = 0;
}

void ProfileDueQueue::compact() {
  std::string fresh;
  fresh.reserve(arena_.size() - garbage_ + 64);
  for (Entry& e : heap_) {
    const std::string_view key = key_at(e.offset);
    e.offset = fresh.size();
    put_length(fresh, key.size());
    fresh.append(key);
  }
  arena_ = std::move(fresh);
  garbage_ = 0;
}

}  // namespace segflow

// ProfileDueQueue: (time, profile key) pairs, earliest first and, at one time, in the byte
// order of the keys: the segments operator's own index of each profile's next instant, so
// that it keeps one engine timer (at the earliest) rather than one per profile, firing
// profiles in the same (time, key) order as the engine's timers would. Keys are copied into
// one arena, so a pair costs 16 bytes plus its key's bytes and a length byte, with no
// allocation of its own; popped keys' bytes are reclaimed once they are a quarter of the
// arena. Pairs leave only by pop(): an owner whose profile's time changed pushes the new
// pair and skips the stale one when it comes up (it checks the profile's state), or clear()s
// and pushes every live pair again when stale ones pile up. Thread safety: a plain value type.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/key_arena.h"

namespace segflow {

class ProfileDueQueue {
 public:
  void push(int64_t time, std::string_view key);
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // REQUIRES: !empty().
  int64_t top_time() const { return heap_.front().time; }
  // The earliest pair's key, valid until the next push, pop or clear. REQUIRES: !empty().
  std::string_view top_key() const { return arena_.at(heap_.front().offset); }
  // Removes the earliest pair. REQUIRES: !empty().
  void pop();
  void clear();

 private:
  struct Entry {
    int64_t time;
    uint64_t offset;  // of the key in arena_
  };
  // (time, key) order: `a` after `b` (std heap functions build max-heaps).
  bool later(const Entry& a, const Entry& b) const;

  std::vector<Entry> heap_;  // a min-heap by (time, key)
  KeyArena arena_;
};

}  // namespace segflow

// DueQueue: (time, key) pairs, earliest time first: a keyed operator's own index of when
// each key needs attention, so that it keeps one engine timer (at the earliest) rather than
// one per key or per distinct time. Keys are copied into one arena, so an entry costs 16
// bytes plus its key's bytes and a length byte, with no allocation of its own; popped keys'
// bytes are reclaimed once they are a quarter of the arena. Pairs pushed in time order (the
// usual case) queue in O(1); the others go to a binary heap. Pairs leave only by pop(): an
// owner whose key's time changed pushes the new pair and skips the stale one when it comes
// up (RollingAggregate checks the key's state), or clear()s and pushes every live pair again
// when stale ones pile up. Thread safety: a plain value type.
#pragma once

#include <cstdint>
#include <deque>
#include <string_view>
#include <vector>

#include "engine/key_arena.h"

namespace segflow {

class DueQueue {
 public:
  void push(int64_t time, std::string_view key);
  bool empty() const { return run_.empty() && heap_.empty(); }
  size_t size() const { return run_.size() + heap_.size(); }
  // REQUIRES: !empty().
  int64_t top_time() const;
  // The earliest pair's key, valid until the next push, pop or clear. REQUIRES: !empty().
  std::string_view top_key() const;
  // Removes the earliest pair (ties: any). REQUIRES: !empty().
  void pop();
  void clear();

 private:
  struct Entry {
    int64_t time;
    uint64_t offset;  // of the key in arena_
  };
  // Whether the earliest pair is run_'s first (else heap_'s top).
  bool top_in_run() const;

  // Pairs pushed in time order (the usual case: O(1)), and a min-heap of the others.
  std::deque<Entry> run_;
  std::vector<Entry> heap_;
  KeyArena arena_;
};

}  // namespace segflow

// TimerService: event-time and processing-time timers of one keyed subtask. A timer is
// (time, key, tag); registering the same triple twice keeps one. Event-time timers fire,
// in order of (time, key, tag), when the watermark reaches their time; processing-time
// timers when the Clock does. Timers are part of the operator's snapshot.
//
// Layout (cheap register / delete / pop, no allocation per timer in the steady state):
// keys are interned per service (an id per distinct key; keys no queued entry refers to are
// forgotten in batches, and their ids reused); each time domain has a set of live (time, key id,
// tag) triples and a binary min-heap of the same triples. Deleting only removes the triple from the
// live set; the heap entry becomes stale and is dropped when it reaches the top, or when stale
// entries outnumber live ones (the heap is rebuilt from the live set). The top of each heap is
// always live, so next_time is exact.
// Thread safety: owned by one subtask; used by its thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>

#include "engine/key_group.h"
#include "engine/state_io.h"
#include "engine/state_key.h"
#include "engine/string_hash.h"

namespace segflow {

struct Timer {
  int64_t time = 0;
  std::string key;
  uint32_t tag = 0;  // operator-defined: lets one operator keep several kinds of timer
  auto operator<=>(const Timer&) const = default;
  void write(StateWriter& w) const;
  // The same bytes as Timer{time, key, tag}.write(w), without building the Timer.
  static void write(StateWriter& w, int64_t time, std::string_view key, uint32_t tag);
  static Timer read(StateReader& r);
};

enum class TimeDomain : uint8_t { kEventTime, kProcessingTime };

class TimerService {
 public:
  void register_timer(TimeDomain domain, int64_t time, std::string_view key, uint32_t tag = 0);
  void delete_timer(TimeDomain domain, int64_t time, std::string_view key, uint32_t tag = 0);
  // delete_timer(from) then register_timer(to), with one lookup of the key.
  void move_timer(TimeDomain domain, int64_t from, int64_t to, std::string_view key,
                  uint32_t tag = 0);

  // Runtime side: removes and returns, one by one in (time, key, tag) order, the timers due
  // at `time`. Timers registered while firing are considered too (if due).
  bool pop_due(TimeDomain domain, int64_t time, Timer& out);
  // Earliest pending timer time of `domain`, or INT64_MAX.
  int64_t next_time(TimeDomain domain) const;
  size_t size() const { return event_.live.size() + processing_.live.size(); }

  // Format: the live timers of each domain as a std::vector<Timer>, in no set order.
  void snapshot(StateWriter& w) const;
  void restore(StateReader& r);
  // Restores only the timers whose key falls in `key_groups` (rescaling: the others belong
  // to another subtask now).
  void restore(StateReader& r, const KeyGroupRange& key_groups, uint32_t max_parallelism);

 private:
  // A timer as queued: its key by id (keys_), and the key's first 8 bytes as a big-endian
  // number (zero-padded), which orders timers of the same time without reading the key.
  struct Entry {
    int64_t time = 0;
    uint32_t key = 0;
    uint32_t tag = 0;
    uint64_t key_prefix = 0;
    bool operator==(const Entry& o) const { return time == o.time && key == o.key && tag == o.tag; }
  };
  struct EntryHash {
    size_t operator()(const Entry& e) const;
  };
  // The timers of one time domain.
  struct Queue {
    std::vector<Entry> heap;                           // min-heap; may hold deleted entries
    boost::unordered_flat_set<Entry, EntryHash> live;  // the pending timers
  };
  // A key and the number of heap entries (of both queues) that refer to it. Ids of keys no
  // longer interned are in free_keys_.
  struct Key {
    StateKey name;
    uint64_t prefix = 0;  // Entry::key_prefix
    uint32_t refs = 0;
    bool interned = false;
  };

  Queue& queue(TimeDomain d) { return d == TimeDomain::kEventTime ? event_ : processing_; }
  // The id of `key`, interning it (with no reference yet) if new.
  uint32_t key_id(std::string_view key);
  void release(uint32_t key);
  // (time, key name, tag) order; `a` after `b` (std heap functions build max-heaps).
  bool later(const Entry& a, const Entry& b) const;
  void push(Queue& q, const Entry& e);
  Entry pop(Queue& q);
  // Drops stale entries from the top, and rebuilds the heap when most entries are stale.
  void tidy(Queue& q);

  Queue event_;
  Queue processing_;
  std::deque<Key> keys_;  // a deque: key_ids_ views the names, which must not move
  std::vector<uint32_t> free_keys_;
  size_t unreferenced_ = 0;            // interned keys with no heap entry
  uint32_t last_popped_ = UINT32_MAX;  // the key of the timer pop_due returned last
  boost::unordered_flat_map<std::string_view, uint32_t, StringHash, StringEq> key_ids_;
};

}  // namespace segflow

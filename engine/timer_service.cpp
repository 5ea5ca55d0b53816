#include "engine/timer_service.h"

#include <algorithm>
#include <cstring>

namespace segflow {

namespace {

// Below this many entries a heap is never rebuilt (rebuilding costs more than it saves).
constexpr size_t kMinHeapToRebuild = 64;
// Keys with no queued entry are forgotten in sweeps, when there are at least this many and
// they are at least half of the interned keys.
constexpr size_t kMinUnreferencedToSweep = 1024;

// The first 8 bytes of `key` as a big-endian number, zero-padded: comparing two prefixes
// compares the keys' first 8 bytes as std::string_view::compare would (equal prefixes: the
// keys decide).
uint64_t prefix_of(std::string_view key) {
  unsigned char bytes[8] = {};
  std::memcpy(bytes, key.data(), std::min<size_t>(key.size(), 8));
  uint64_t prefix = 0;
  for (unsigned char b : bytes) prefix = prefix << 8 | b;
  return prefix;
}

}  // namespace

void Timer::write(StateWriter& w) const { write(w, time, key, tag); }

void Timer::write(StateWriter& w, int64_t time, std::string_view key, uint32_t tag) {
  write_state(w, time);
  w.str(key);
  write_state(w, tag);
}

Timer Timer::read(StateReader& r) {
  Timer t;
  t.time = read_state<int64_t>(r);
  t.key = r.str();
  t.tag = read_state<uint32_t>(r);
  return t;
}

size_t TimerService::EntryHash::operator()(const Entry& e) const {
  const uint64_t a = static_cast<uint64_t>(e.time) * 0x9E3779B97F4A7C15ull;
  const uint64_t b = ((uint64_t{e.key} << 32) | e.tag) * 0xC2B2AE3D27D4EB4Full;
  return static_cast<size_t>(a ^ (b >> 29) ^ b);
}

uint32_t TimerService::key_id(std::string_view key) {
  // An operator typically registers the next timer of the key whose timer just fired.
  if (last_popped_ < keys_.size() && keys_[last_popped_].interned &&
      keys_[last_popped_].name.view() == key)
    return last_popped_;
  if (const auto it = key_ids_.find(key); it != key_ids_.end()) return it->second;
  uint32_t id;
  if (!free_keys_.empty()) {
    id = free_keys_.back();
    free_keys_.pop_back();
    keys_[id].name = StateKey(key);
  } else {
    id = static_cast<uint32_t>(keys_.size());
    keys_.push_back(Key{StateKey(key)});
  }
  keys_[id].prefix = prefix_of(key);
  keys_[id].interned = true;
  ++unreferenced_;
  key_ids_.emplace(keys_[id].name.view(), id);
  return id;
}

void TimerService::release(uint32_t key) {
  if (--keys_[key].refs > 0) return;
  // Kept interned: the key is likely to get a timer again soon (an operator typically moves
  // a key's timer by deleting it, or firing it, and registering the next one).
  if (++unreferenced_ < kMinUnreferencedToSweep || unreferenced_ < keys_.size() / 2) return;
  for (uint32_t id = 0; id < keys_.size(); ++id) {
    Key& k = keys_[id];
    if (!k.interned || k.refs > 0) continue;
    key_ids_.erase(k.name.view());
    k.interned = false;
    free_keys_.push_back(id);
  }
  unreferenced_ = 0;
}

bool TimerService::later(const Entry& a, const Entry& b) const {
  if (a.time != b.time) return a.time > b.time;
  if (a.key_prefix != b.key_prefix) return a.key_prefix > b.key_prefix;
  if (a.key != b.key) {
    const int c = keys_[a.key].name.view().compare(keys_[b.key].name.view());
    if (c != 0) return c > 0;
  }
  return a.tag > b.tag;
}

void TimerService::push(Queue& q, const Entry& e) {
  if (keys_[e.key].refs++ == 0) --unreferenced_;
  q.heap.push_back(e);
  std::push_heap(q.heap.begin(), q.heap.end(),
                 [this](const Entry& a, const Entry& b) { return later(a, b); });
}

TimerService::Entry TimerService::pop(Queue& q) {
  std::pop_heap(q.heap.begin(), q.heap.end(),
                [this](const Entry& a, const Entry& b) { return later(a, b); });
  const Entry e = q.heap.back();
  q.heap.pop_back();
  return e;
}

void TimerService::tidy(Queue& q) {
  if (q.heap.size() >= kMinHeapToRebuild && q.heap.size() > 2 * q.live.size()) {
    // Keys of live timers keep their ids: reference them before releasing the old heap.
    std::vector<Entry> old = std::move(q.heap);
    q.heap.clear();
    q.heap.reserve(q.live.size());
    for (const Entry& e : q.live) {
      if (keys_[e.key].refs++ == 0) --unreferenced_;
      q.heap.push_back(e);
    }
    for (const Entry& e : old) release(e.key);
    std::make_heap(q.heap.begin(), q.heap.end(),
                   [this](const Entry& a, const Entry& b) { return later(a, b); });
    return;
  }
  // Every heap entry is live unless some were deleted: then look them up.
  while (q.heap.size() > q.live.size() && !q.live.contains(q.heap.front())) release(pop(q).key);
}

void TimerService::register_timer(TimeDomain domain, int64_t time, std::string_view key,
                                  uint32_t tag) {
  Queue& q = queue(domain);
  const uint32_t id = key_id(key);
  const Entry e{time, id, tag, keys_[id].prefix};
  if (!q.live.insert(e).second) return;
  push(q, e);
}

void TimerService::move_timer(TimeDomain domain, int64_t from, int64_t to, std::string_view key,
                              uint32_t tag) {
  if (from == to) return register_timer(domain, to, key, tag);
  Queue& q = queue(domain);
  const uint32_t id = key_id(key);
  const Entry added{to, id, tag, keys_[id].prefix};
  // Registered first: the key keeps a reference, so the deletion cannot forget its id.
  if (q.live.insert(added).second) push(q, added);
  if (q.live.erase(Entry{from, id, tag}) > 0) tidy(q);
}

void TimerService::delete_timer(TimeDomain domain, int64_t time, std::string_view key,
                                uint32_t tag) {
  const auto it = key_ids_.find(key);
  if (it == key_ids_.end()) return;
  Queue& q = queue(domain);
  if (q.live.erase(Entry{time, it->second, tag}) == 0) return;
  tidy(q);
}

bool TimerService::pop_due(TimeDomain domain, int64_t time, Timer& out) {
  Queue& q = queue(domain);
  if (q.heap.empty() || q.heap.front().time > time) return false;
  const Entry e = pop(q);  // live: the top always is
  q.live.erase(e);
  out.time = e.time;
  out.key.assign(keys_[e.key].name.view());
  out.tag = e.tag;
  last_popped_ = e.key;
  release(e.key);
  tidy(q);
  return true;
}

int64_t TimerService::next_time(TimeDomain domain) const {
  const Queue& q = domain == TimeDomain::kEventTime ? event_ : processing_;
  return q.heap.empty() ? INT64_MAX : q.heap.front().time;
}

void TimerService::snapshot(StateWriter& w) const {
  // Unsorted (restore registers them in any order): no copy, no sort at the barrier.
  for (const Queue* q : {&event_, &processing_}) {
    w.u64(q->live.size());
    for (const Entry& e : q->live) Timer::write(w, e.time, keys_[e.key].name.view(), e.tag);
  }
}

void TimerService::restore(StateReader& r) {
  for (TimeDomain d : {TimeDomain::kEventTime, TimeDomain::kProcessingTime})
    for (const Timer& t : read_state<std::vector<Timer>>(r))
      register_timer(d, t.time, t.key, t.tag);
}

void TimerService::restore(StateReader& r, const KeyGroupRange& key_groups,
                           uint32_t max_parallelism) {
  for (TimeDomain d : {TimeDomain::kEventTime, TimeDomain::kProcessingTime})
    for (const Timer& t : read_state<std::vector<Timer>>(r))
      if (key_groups.contains(key_group_of(t.key, max_parallelism)))
        register_timer(d, t.time, t.key, t.tag);
}

}  // namespace segflow

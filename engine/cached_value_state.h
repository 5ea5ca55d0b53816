// CachedValueState: the part of ValueState (keyed_state.h) used with a KeyedStateStore (the
// rocksdb backend): a bounded write-back cache of deserialized entries in front of the
// store. An entry read or created comes into the cache and is marked dirty (the caller may
// change it through the pointer it gets); when the cache is full, the least recently used
// quarter is written back and dropped. Entries are stored as expires_at + value in the codec
// of state_io.h, which is also their snapshot format after the key, so a snapshot copies
// stored bytes without decoding them.
// Pointers stay valid until the next erase of the same key or until the entry is evicted;
// eviction only drops the least recently used quarter, so a pointer from one of the last
// cache_entries * 3/4 accesses stays valid (the cache is node-based: inserts do not move entries).
// Thread safety: owned by one subtask; used by its thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unordered_map>

#include "engine/clock.h"
#include "engine/key_group.h"
#include "engine/state_io.h"
#include "engine/state_store.h"
#include "engine/string_hash.h"

namespace segflow {

template <class T>
class CachedValueState {
 public:
  CachedValueState(KeyGroupRange key_groups, uint32_t max_parallelism, const Clock& clock,
                   int64_t ttl_ms, KeyedStateStore& store)
      : key_groups_(key_groups),
        max_parallelism_(max_parallelism),
        clock_(clock),
        ttl_ms_(ttl_ms),
        store_(store),
        state_(store.register_state()),
        capacity_(std::max<size_t>(store.cache_entries(), 16)) {}

  void on_load(std::function<void(T&)> f) { on_load_ = std::move(f); }

  T* get(std::string_view key) {
    auto it = find_or_load(key);
    if (it == cache_.end()) return nullptr;
    if (expired(it->second)) {
      erase(key);
      return nullptr;
    }
    use(it->second);
    return &it->second.value;
  }

  T& get_or_create(std::string_view key) {
    auto it = find_or_load(key);
    if (it == cache_.end()) {
      make_room();
      it = cache_.emplace(std::string(key), Entry{}).first;
    } else if (expired(it->second)) {
      it->second.value = T{};
    }
    if (ttl_ms_ > 0) it->second.expires_at = clock_.now_ms() + ttl_ms_;
    use(it->second);
    return it->second.value;
  }

  void erase(std::string_view key) {
    if (auto it = cache_.find(key); it != cache_.end()) cache_.erase(it);
    store_.erase(state_, group_of(key), key);
    store_.commit();
  }

  T take(std::string_view key) {
    T* v = get(key);
    if (v == nullptr) return T{};
    T out = std::move(*v);
    erase(key);
    return out;
  }

  size_t size() {
    write_back();
    size_t n = 0;
    for (uint32_t kg = key_groups_.begin; kg < key_groups_.end; ++kg)
      store_.scan(state_, kg, [&](std::string_view, std::string_view) { ++n; });
    return n;
  }

  // f(key, value&) for every live entry; changes are written back.
  template <class F>
  void for_each(F f) {
    write_back();
    for (uint32_t kg = key_groups_.begin; kg < key_groups_.end; ++kg) {
      store_.scan(state_, kg, [&](std::string_view key, std::string_view bytes) {
        if (auto it = cache_.find(key); it != cache_.end()) {
          if (expired(it->second)) return;
          it->second.dirty = true;
          f(key, it->second.value);
          return;
        }
        Entry e = decode(bytes);
        if (expired(e)) return;
        f(key, e.value);
        std::string after = encode(e);
        if (after != bytes) store_.put(state_, kg, key, after);
      });
      store_.commit();
    }
  }

  void sweep_expired() {
    if (ttl_ms_ == 0) return;
    write_back();
    for (auto it = cache_.begin(); it != cache_.end();)
      it = expired(it->second) ? cache_.erase(it) : std::next(it);
    for (uint32_t kg = key_groups_.begin; kg < key_groups_.end; ++kg) {
      store_.scan(state_, kg, [&](std::string_view key, std::string_view bytes) {
        Entry e;
        StateReader r(bytes);
        e.expires_at = read_state<int64_t>(r);
        if (expired(e)) store_.erase(state_, kg, key);
      });
      store_.commit();
    }
  }

  // The format of ValueState::snapshot: per key group: id, count, (key, expires_at, value)*.
  // In an incremental checkpoint, only kEntriesInStoreFiles: the entries are in the store.
  void snapshot(StateWriter& w) {
    write_back();
    if (store_.snapshot_in_files()) {
      w.u64(kEntriesInStoreFiles);
      return;
    }
    w.u64(key_groups_.size());
    for (uint32_t kg = key_groups_.begin; kg < key_groups_.end; ++kg) {
      StateWriter entries;
      uint64_t count = 0;
      store_.scan(state_, kg, [&](std::string_view key, std::string_view bytes) {
        entries.str(key);
        entries.bytes(bytes.data(), bytes.size());
        ++count;
      });
      w.u64(kg);
      w.u64(count);
      w.bytes(entries.data().data(), entries.data().size());
    }
  }

  void restore(StateReader& r) {
    size_t pending = 0;
    uint64_t groups = r.u64();
    if (groups == kEntriesInStoreFiles) {  // KeyedStateStore::restore_files loaded them
      cache_.clear();
      return;
    }
    for (; groups > 0; --groups) {
      const uint64_t kg = r.u64();
      for (uint64_t count = r.u64(); count > 0; --count) {
        std::string key = r.str();
        Entry e;
        e.expires_at = read_state<int64_t>(r);
        e.value = read_state<T>(r);
        if (!key_groups_.contains(static_cast<uint32_t>(kg))) continue;
        cache_.erase(key);
        store_.put(state_, static_cast<uint32_t>(kg), key, encode(e));
        if (++pending % 4096 == 0) store_.commit();
      }
    }
    store_.commit();
  }

 private:
  struct Entry {
    T value{};
    int64_t expires_at = 0;  // 0: never
    uint64_t last_use = 0;
    bool dirty = false;  // differs from the store (or may: it was handed out)
  };
  using Cache = std::unordered_map<std::string, Entry, StringHash, StringEq>;

  typename Cache::iterator find_or_load(std::string_view key) {
    if (auto it = cache_.find(key); it != cache_.end()) return it;
    if (!store_.get(state_, group_of(key), key, scratch_)) return cache_.end();
    make_room();
    return cache_.emplace(std::string(key), decode(scratch_)).first;
  }

  // Writes back and drops the least recently used quarter when the cache is full.
  void make_room() {
    if (cache_.size() < capacity_) return;
    std::vector<uint64_t> uses;
    uses.reserve(cache_.size());
    for (const auto& kv : cache_) uses.push_back(kv.second.last_use);
    const size_t drop = cache_.size() / 4;
    std::nth_element(uses.begin(), uses.begin() + (drop - 1), uses.end());
    const uint64_t cutoff = uses[drop - 1];
    for (auto it = cache_.begin(); it != cache_.end();) {
      if (it->second.last_use > cutoff) {
        ++it;
        continue;
      }
      if (it->second.dirty) store_.put(state_, group_of(it->first), it->first, encode(it->second));
      it = cache_.erase(it);
    }
    store_.commit();
  }

  // Writes every dirty entry to the store; they stay cached, clean.
  void write_back() {
    for (auto& [key, e] : cache_) {
      if (!e.dirty) continue;
      store_.put(state_, group_of(key), key, encode(e));
      e.dirty = false;
    }
    store_.commit();
  }

  void use(Entry& e) {
    e.last_use = ++uses_;
    e.dirty = true;
  }
  uint32_t group_of(std::string_view key) const { return key_group_of(key, max_parallelism_); }
  bool expired(const Entry& e) const {
    return e.expires_at != 0 && e.expires_at <= clock_.now_ms();
  }

  static std::string encode(const Entry& e) {
    StateWriter w;
    write_state(w, e.expires_at);
    write_state(w, e.value);
    return w.take();
  }
  Entry decode(std::string_view bytes) const {
    StateReader r(bytes);
    Entry e;
    e.expires_at = read_state<int64_t>(r);
    e.value = read_state<T>(r);
    if (on_load_) on_load_(e.value);
    return e;
  }

  const KeyGroupRange key_groups_;
  const uint32_t max_parallelism_;
  const Clock& clock_;
  const int64_t ttl_ms_;
  KeyedStateStore& store_;
  const uint32_t state_;
  const size_t capacity_;
  Cache cache_;
  uint64_t uses_ = 0;
  std::string scratch_;
  std::function<void(T&)> on_load_;
};

}  // namespace segflow

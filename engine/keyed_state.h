// Keyed state: per-key values an operator keeps, stored per key group so a snapshot can be
// split and a restore at another parallelism moves whole key groups. ValueState holds one
// T per key, MapState a map per key, AggregatingState an accumulator per key; each can
// expire entries a TTL after their last write (processing time, from the Clock).
// With a KeyedStateStore in the scope (the rocksdb backend), entries live in the store
// behind a bounded cache (cached_value_state.h); the API and snapshot format are the same.
// Thread safety: owned by one subtask; used by its thread only. Pointers returned by get()
// stay valid until the next insert or erase on the same state (with a store: until the key
// is erased or evicted; see cached_value_state.h).
#pragma once

#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "engine/string_hash.h"

#include "engine/cached_value_state.h"
#include "engine/clock.h"
#include "engine/key_group.h"
#include "engine/state_io.h"
#include "engine/state_store.h"

namespace segflow {

// Where keyed state lives for one subtask: its key groups and the clock for TTL.
struct KeyedStateScope {
  KeyGroupRange key_groups;
  uint32_t max_parallelism = 128;
  const Clock* clock = &SystemClock::instance();
  KeyedStateStore* store = nullptr;  // null: heap
};

template <class T>
class ValueState {
 public:
  // ttl_ms == 0: entries never expire.
  explicit ValueState(const KeyedStateScope& scope, int64_t ttl_ms = 0)
      : scope_(scope), ttl_ms_(ttl_ms), groups_(scope.store ? 0 : scope.key_groups.size()) {
    if (scope.store != nullptr)
      backed_ = std::make_unique<CachedValueState<T>>(scope.key_groups, scope.max_parallelism,
                                                      *scope.clock, ttl_ms, *scope.store);
  }

  // The value of `key`, or nullptr when absent or expired.
  T* get(std::string_view key) {
    if (backed_) return backed_->get(key);
    const HashedKey k{key, hash_key(key)};
    auto& group = group_of(k);
    auto it = group.find(k);
    if (it == group.end()) return nullptr;
    if (expired(it->second)) {
      group.erase(it);
      return nullptr;
    }
    return &it->second.value;
  }

  // The value of `key`, default-constructed when absent; refreshes its TTL.
  T& get_or_create(std::string_view key) {
    if (backed_) return backed_->get_or_create(key);
    const HashedKey k{key, hash_key(key)};
    auto& group = group_of(k);
    auto it = group.find(k);
    if (it == group.end()) {
      it = group.try_emplace(std::string(key)).first;  // built in place, not moved in
    } else if (expired(it->second)) {
      it->second.value = T{};
    }
    touch(it->second);
    return it->second.value;
  }

  void put(std::string_view key, T value) { get_or_create(key) = std::move(value); }
  // With a store: `f(value&)` runs on every value read back from it, to rebuild what T's
  // codec leaves out (as after a restore). Never called with the heap backend.
  void on_load(std::function<void(T&)> f) {
    if (backed_) backed_->on_load(std::move(f));
  }
  void erase(std::string_view key) {
    if (backed_) return backed_->erase(key);
    const HashedKey k{key, hash_key(key)};
    group_of(k).erase(k);
  }
  // Removes and returns the value of `key` (default when absent).
  T take(std::string_view key) {
    if (backed_) return backed_->take(key);
    const HashedKey k{key, hash_key(key)};
    auto& group = group_of(k);
    auto it = group.find(k);
    if (it == group.end()) return T{};
    T v = std::move(it->second.value);
    group.erase(it);
    return v;
  }

  // With a store: a scan, not for per-record use.
  size_t size() const {
    if (backed_) return backed_->size();
    size_t n = 0;
    for (const auto& g : groups_) n += g.size();
    return n;
  }

  // Calls f(key, value&) for every live entry.
  template <class F>
  void for_each(F f) {
    if (backed_) return backed_->for_each(std::move(f));
    for (auto& g : groups_)
      for (auto& [k, e] : g)
        if (!expired(e)) f(std::string_view(k), e.value);
  }

  // Calls f(key, value&) for every live entry, in storage order, and erases those for which
  // it returns true: one sequential pass, cheaper than a lookup per key when an operator
  // touches a large part of its keys at once (e.g. aligned windows firing together).
  template <class F>
  void update_or_erase(F f) {
    if (backed_) {
      std::vector<std::string> erased;
      backed_->for_each([&](std::string_view key, T& value) {
        if (f(key, value)) erased.emplace_back(key);
      });
      for (const auto& key : erased) backed_->erase(key);
      return;
    }
    for (auto& g : groups_)
      for (auto it = g.begin(); it != g.end();) {
        const auto next = std::next(it);  // erasing moves no other element
        if (!expired(it->second) && f(std::string_view(it->first), it->second.value)) g.erase(it);
        it = next;
      }
  }

  // Drops expired entries now (they are otherwise dropped lazily on access).
  void sweep_expired() {
    if (backed_) return backed_->sweep_expired();
    if (ttl_ms_ == 0) return;
    for (auto& g : groups_)
      boost::unordered::erase_if(g, [&](auto& kv) { return expired(kv.second); });
  }

  // Snapshot format: per key group: group id, entry count, entries.
  void snapshot(StateWriter& w) const {
    if (backed_) return backed_->snapshot(w);
    w.u64(groups_.size());
    for (size_t i = 0; i < groups_.size(); ++i) {
      w.u64(scope_.key_groups.begin + i);
      w.u64(groups_[i].size());
      for (const auto& [k, e] : groups_[i]) {
        w.str(k);
        write_state(w, e.expires_at);
        write_state(w, e.value);
      }
    }
  }

  // Restores entries of the key groups this subtask owns; others are skipped.
  void restore(StateReader& r) {
    if (backed_) return backed_->restore(r);
    uint64_t groups = r.u64();
    if (groups == kEntriesInStoreFiles)
      throw StateFormatError(
          "keyed state is in RocksDB files (an incremental checkpoint): restore it with "
          "state_backend rocksdb");
    for (; groups > 0; --groups) {
      const uint64_t kg = r.u64();
      for (uint64_t count = r.u64(); count > 0; --count) {
        std::string key = r.str();
        Entry e;
        e.expires_at = read_state<int64_t>(r);
        e.value = read_state<T>(r);
        if (scope_.key_groups.contains(static_cast<uint32_t>(kg)))
          groups_[kg - scope_.key_groups.begin].insert_or_assign(std::move(key), std::move(e));
      }
    }
  }

 private:
  struct Entry {
    T value{};
    int64_t expires_at = 0;  // 0: never
  };
  // A key with its hash_key, computed once for both the key group and the map lookup.
  struct HashedKey {
    std::string_view key;
    uint64_t hash;
  };
  // StringHash / StringEq that also take a HashedKey (the same hash, not recomputed).
  struct Hash : StringHash {
    using StringHash::operator();
    size_t operator()(const HashedKey& k) const { return k.hash; }
  };
  struct Eq : StringEq {
    using StringEq::operator();
    bool operator()(const HashedKey& a, std::string_view b) const { return a.key == b; }
    bool operator()(std::string_view a, const HashedKey& b) const { return a == b.key; }
  };
  using Group = boost::unordered_flat_map<std::string, Entry, Hash, Eq>;

  Group& group_of(const HashedKey& k) {
    const auto kg = static_cast<uint32_t>(k.hash % scope_.max_parallelism);
    return groups_[kg - scope_.key_groups.begin];
  }
  bool expired(const Entry& e) const {
    return e.expires_at != 0 && e.expires_at <= scope_.clock->now_ms();
  }
  void touch(Entry& e) const {
    if (ttl_ms_ > 0) e.expires_at = scope_.clock->now_ms() + ttl_ms_;
  }

  KeyedStateScope scope_;
  int64_t ttl_ms_;
  std::vector<Group> groups_;
  std::unique_ptr<CachedValueState<T>> backed_;  // set with a store: groups_ is then unused
};

// A map per key (e.g. per-product counters of a profile).
template <class K, class V>
class MapState {
 public:
  explicit MapState(const KeyedStateScope& scope, int64_t ttl_ms = 0) : state_(scope, ttl_ms) {}
  V* get(std::string_view key, const K& map_key) {
    auto* m = state_.get(key);
    if (m == nullptr) return nullptr;
    auto it = m->find(map_key);
    return it == m->end() ? nullptr : &it->second;
  }
  void put(std::string_view key, const K& map_key, V value) {
    state_.get_or_create(key)[map_key] = std::move(value);
  }
  std::map<K, V>* entries(std::string_view key) { return state_.get(key); }
  void erase(std::string_view key) { state_.erase(key); }
  void snapshot(StateWriter& w) const { state_.snapshot(w); }
  void restore(StateReader& r) { state_.restore(r); }

 private:
  ValueState<std::map<K, V>> state_;
};

// An accumulator per key. Agg provides: `using Accumulator`, `using Input`, `using Result`,
// `static void add(Accumulator&, const Input&)`,
// `static void merge(Accumulator&, const Accumulator&)`,
// `static Result result(const Accumulator&)`.
template <class Agg>
class AggregatingState {
 public:
  explicit AggregatingState(const KeyedStateScope& scope, int64_t ttl_ms = 0)
      : state_(scope, ttl_ms) {}
  void add(std::string_view key, const typename Agg::Input& in) {
    Agg::add(state_.get_or_create(key), in);
  }
  void merge(std::string_view key, const typename Agg::Accumulator& other) {
    Agg::merge(state_.get_or_create(key), other);
  }
  typename Agg::Result result(std::string_view key) {
    const auto* acc = state_.get(key);
    return Agg::result(acc ? *acc : typename Agg::Accumulator{});
  }
  ValueState<typename Agg::Accumulator>& accumulators() { return state_; }
  void snapshot(StateWriter& w) const { state_.snapshot(w); }
  void restore(StateReader& r) { state_.restore(r); }

 private:
  ValueState<typename Agg::Accumulator> state_;
};

}  // namespace segflow

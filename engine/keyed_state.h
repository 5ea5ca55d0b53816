// Keyed state: per-key values an operator keeps, stored per key group so a snapshot can be
// split and a restore at another parallelism moves whole key groups. ValueState holds one
// T per key, MapState a map per key, AggregatingState an accumulator per key; each can
// expire entries a TTL after their last write (processing time, from the Clock).
// With a KeyedStateStore in the scope (the rocksdb backend), entries live in the store
// behind a bounded cache (cached_value_state.h); the API and snapshot format are the same.
// Thread safety: owned by one subtask; used by its thread only, except the function returned
// by snapshot_async(), which runs on another thread (see there). Pointers returned by get()
// stay valid until the next insert or erase on the same state (with a store: until the key
// is erased or evicted; see cached_value_state.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
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

// The part of a snapshot left for after the checkpoint barrier (ValueState::snapshot_async):
// appends to the bytes written at the barrier, on another thread, while the state's owner
// goes on. Empty: nothing is left.
using DeferredSnapshot = std::function<void(StateWriter&)>;

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
    pending_.reset();  // restore() waits for snapshot_async's function: it has finished
    uint64_t groups = r.u64();
    if (groups == kEntriesInStoreFiles)
      throw StateFormatError(
          "keyed state is in RocksDB files (an incremental checkpoint): restore it with "
          "state_backend rocksdb");
    for (; groups > 0; --groups) {
    if (it == group.end()) return nullptr;
    preserve(lock, i, it->first, it->second);
    if (expired(it->second)) {
      group.erase(it);
      return nullptr;
    }
    return &it->second.value;
  }

  // The value of `key`, default-constructed when absent; refreshes its TTL.
  T& get_or_create(std::string_view key) {
    if (backed_) return backed_->get_or_create(key);
    pending_.reset();  // restore() waits for snapshot_async's function: it has finished
    uint64_t groups = r.u64();
    if (groups == kEntriesInStoreFiles)
      throw StateFormatError(
          "keyed state is in RocksDB files (an incremental checkpoint): restore it with "
          "state_backend rocksdb");
    for (; groups > 0; --groups) {
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
    pending_.reset();  // restore() waits for snapshot_async's function: it has finished
    uint64_t groups = r.u64();
    if (groups == kEntriesInStoreFiles)
      throw StateFormatError(
          "keyed state is in RocksDB files (an incremental checkpoint): restore it with "
          "state_backend rocksdb");
    for (; groups > 0; --groups) {
  }
  // Removes and returns the value of `key` (default when absent).
  T take(std::string_view key) {
    if (backed_) return backed_->take(key);
    pending_.reset();  // restore() waits for snapshot_async's function: it has finished
    uint64_t groups = r.u64();
    if (groups == kEntriesInStoreFiles)
      throw StateFormatError(
          "keyed state is in RocksDB files (an incremental checkpoint): restore it with "
          "state_backend rocksdb");
    for (; groups > 0; --groups) {
    if (it == group.end()) return T{};
    preserve(lock, i, it->first, it->second);
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
    settle_all();
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
    settle_all();
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
    settle_all();
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
      for (const auto& [k, e] : groups_[i]) write_entry(w, k, e);
    }
  }

  // An asynchronous snapshot (copy-on-write, as Flink's heap backend): marks the state as it
  // is now, in O(key groups), and returns the function that writes what snapshot() would
  // have written now. That function runs once, on another thread, while the owner goes on
  // using the state: before the owner changes, erases or hands out an entry the function
  // has not written yet, it writes that entry's marked value itself (under the key group's
  // lock, which the function holds while it writes the group). Entries created after the
  // mark are not in the snapshot. The function must have returned before the next
  // snapshot_async() or restore(), and before the state is destroyed.
  // With a store: serialises now; the function appends those bytes.
  DeferredSnapshot snapshot_async() {
    if (backed_) {
      StateWriter now;
      backed_->snapshot(now);
      return [bytes = now.take()](StateWriter& w) { w.bytes(bytes.data(), bytes.size()); };
    }
    pending_ = std::make_shared<PendingSnapshot>(++epoch_, groups_.size());
    return [this, pending = pending_](StateWriter& w) { write_pending(*pending, w); };
  }

  // Restores entries of the key groups this subtask owns; others are skipped.
  void restore(StateReader& r) {
    if (backed_) return backed_->restore(r);
    pending_.reset();  // restore() waits for snapshot_async's function: it has finished
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
        // e.epoch stays 0: older than any snapshot_async() mark
      }
    }
  }

 private:
  struct Entry {
    T value{};
    int64_t expires_at = 0;  // 0: never
    // The newest snapshot_async() mark at which this entry was written (by the owner) or
    // that it was created after: that snapshot's function skips it.
    uint32_t epoch = 0;
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

    pending_.reset();  // restore() waits for snapshot_async's function: it has finished
    uint64_t groups = r.u64();
    if (groups == kEntriesInStoreFiles)
      throw StateFormatError(
          "keyed state is in RocksDB files (an incremental checkpoint): restore it with "
          "state_backend rocksdb");
    for (; groups > 0; --groups) {
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
  uint32_t epoch_ = 0;                           // the newest snapshot_async() mark
  std::shared_ptr<PendingSnapshot> pending_;     // until its function has written everything
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
  DeferredSnapshot snapshot_async() { return state_.snapshot_async(); }
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
  DeferredSnapshot snapshot_async() { return state_.snapshot_async(); }
  void restore(StateReader& r) { state_.restore(r); }

 private:
  ValueState<typename Agg::Accumulator> state_;
};

}  // namespace segflow

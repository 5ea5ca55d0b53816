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
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/cached_value_state.h"
#include "engine/clock.h"
#include "engine/key_group.h"
#include "engine/key_table.h"
#include "engine/state_io.h"
#include "engine/state_key.h"
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
  T* get(std::string_view key) { return get(key, hash_key(key)); }
  // get() of a key whose hash_key is known (`hash`), as after prefetch_bucket.
  T* get(std::string_view key, uint64_t hash) {
    if (backed_) return backed_->get(key);
    return get_hashed({key, hash});
  }

  // The value of `key`, default-constructed when absent; refreshes its TTL.
  T& get_or_create(std::string_view key) {
    if (backed_) return backed_->get_or_create(key);
    return get_or_create_hashed({key, hash_key(key)});
  }

  // get_or_create() for a run of keys, each looked up while the memory of the next ones is
  // being fetched (software prefetch: in a table larger than the caches, a lookup otherwise
  // waits for a cache miss or two, one key after the other). For i in [0, n): key_of(i)
  // returns a std::optional<std::string_view>, nullopt to skip i, and is called once, a few
  // keys ahead; then f(i, value&) as after get_or_create(key_of(i)). f may use the state.
  template <class KeyOf, class F>
  void get_or_create_each(size_t n, KeyOf key_of, F f) {
    if (backed_) {
      for (size_t i = 0; i < n; ++i)
        if (const std::optional<std::string_view> key = key_of(i)) f(i, get_or_create(*key));
      return;
    }
    prefetched_each(n, key_of,
                    [&](size_t i, const HashedKey& k) { f(i, get_or_create_hashed(k)); });
  }
  // The same for get(): f(i, value*), nullptr when absent or expired.
  template <class KeyOf, class F>
  void get_each(size_t n, KeyOf key_of, F f) {
    if (backed_) {
      for (size_t i = 0; i < n; ++i)
        if (const std::optional<std::string_view> key = key_of(i)) f(i, get(*key));
      return;
    }
    prefetched_each(n, key_of, [&](size_t i, const HashedKey& k) { f(i, get_hashed(k)); });
  }

  // get_or_create_each's two prefetch steps for a caller driving its own run of lookups (keys
  // become known one by one): prefetch_bucket(key, hash_key(key)) some lookups ahead, then
  // prefetch_entry once the bucket has had time to load. Hints only (none with a store).
  void prefetch_bucket(std::string_view key, uint64_t hash) const {
    if (!backed_) groups_[group_index({key, hash})].prefetch_bucket(hash);
  }
  void prefetch_entry(std::string_view key, uint64_t hash) const {
    if (!backed_) groups_[group_index({key, hash})].prefetch_entry(hash);
  }

  void put(std::string_view key, T value) { get_or_create(key) = std::move(value); }
  // With a store: `f(value&)` runs on every value read back from it, to rebuild what T's
  // codec leaves out (as after a restore). Never called with the heap backend.
  void on_load(std::function<void(T&)> f) {
    if (backed_) backed_->on_load(std::move(f));
  }
  void erase(std::string_view key) { erase(key, hash_key(key)); }
  void erase(std::string_view key, uint64_t hash) {
    if (backed_) return backed_->erase(key);
    Found f = find(HashedKey{key, hash});
    if (f.it != f.group->end()) f.group->erase(f.it);
  }
  // Removes and returns the value of `key` (default when absent).
  T take(std::string_view key) {
    if (backed_) return backed_->take(key);
    Found f = find(key);
    if (f.it == f.group->end()) return T{};
    T v = std::move(f.it->second.value);
    f.group->erase(f.it);
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
      g.erase_if([&](std::string_view key, Entry& e) { return !expired(e) && f(key, e.value); });
  }

  // Drops expired entries now (they are otherwise dropped lazily on access).
  void sweep_expired() {
    if (backed_) return backed_->sweep_expired();
    if (ttl_ms_ == 0) return;
    settle_all();
    for (auto& g : groups_)
      g.erase_if([&](std::string_view, const Entry& e) { return expired(e); });
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
          groups_[kg - scope_.key_groups.begin].insert_or_assign(key, hash_key(key), std::move(e));
        // e.epoch stays 0: older than any snapshot_async() mark
      }
    }
  }

 private:
  // The bookkeeping first: every lookup reads expires_at, in the cache line of the key.
  struct Entry {
    int64_t expires_at = 0;  // 0: never
    // The newest snapshot_async() mark at which this entry was written (by the owner) or
    // that it was created after: that snapshot's function skips it.
    uint32_t epoch = 0;
    T value{};
  };
  // A key with its hash_key, computed once for both the key group and the map lookup.
  struct HashedKey {
    std::string_view key;
    uint64_t hash;
  };
  using Group = KeyTable<Entry>;

  // A snapshot_async() whose function has not written every key group yet.
  struct PendingGroup {
    std::mutex mutex;  // held by the function while it writes the group
    // The function needs nothing more of the group's entries: it wrote them, or the owner
    // did (settle). The owner then goes on without the lock.
    std::atomic<bool> settled{false};
    bool owner_wrote_all = false;  // under mutex
    StateWriter early;             // under mutex: entries the owner wrote before changing them
    uint64_t early_count = 0;
  };
  struct PendingSnapshot {
    PendingSnapshot(uint32_t e, size_t groups)
        : epoch(e), groups(std::make_unique<PendingGroup[]>(groups)), unsettled(groups) {}
    const uint32_t epoch;
    std::unique_ptr<PendingGroup[]> groups;
    std::atomic<size_t> unsettled;  // groups the function has not written yet
  };

  // An entry looked up by key, under its key group's guard(), which it holds until destroyed.
  struct Found {
    std::unique_lock<std::mutex> lock;
    Group* group;
    typename Group::iterator it;  // group->end(): absent
  };
  // Looks `key` up (hashing it once, for the key group and the map). When present, the entry
  // is preserve()d first: the caller may change, erase or hand it out.
  Found find(std::string_view key) { return find(HashedKey{key, hash_key(key)}); }
  Found find(const HashedKey& k) {
    const size_t i = group_index(k);
    Found f{guard(i), &groups_[i], {}};
    f.it = f.group->find(k.key, k.hash);
    if (f.it != f.group->end()) preserve(f.lock, i, f.it->first, f.it->second);
    return f;
  }
  T& get_or_create_hashed(const HashedKey& k) {
    Found f = find(k);
    if (f.it == f.group->end()) {
      f.it = f.group->try_emplace(k.key, k.hash).first;
      f.it->second.epoch = epoch_;
    } else if (expired(f.it->second)) {
      f.it->second.value = T{};
    }
    touch(f.it->second);
    return f.it->second.value;
  }
  T* get_hashed(const HashedKey& k) {
    Found f = find(k);
    if (f.it == f.group->end()) return nullptr;
    if (expired(f.it->second)) {
      f.group->erase(f.it);
      return nullptr;
    }
    return &f.it->second.value;
  }
  // Calls f(i, hashed key i) for the keys key_of(i) that are not nullopt, in order, with the
  // memory of the lookups a few keys ahead prefetched (get_or_create_each).
  template <class KeyOf, class F>
  void prefetched_each(size_t n, KeyOf& key_of, F f) {
    // Bucket prefetches run kAhead keys ahead, entry prefetches kAhead / 2.
    constexpr size_t kAhead = 8;
    struct Ahead {
      HashedKey key;
      bool wanted;
    };
    Ahead ring[kAhead]{};
    for (size_t j = 0; j < n + kAhead; ++j) {
      if (j >= kAhead) {
        const Ahead& a = ring[j % kAhead];
        if (a.wanted) f(j - kAhead, a.key);
      }
      if (j < n) {
        Ahead& a = ring[j % kAhead];
        const std::optional<std::string_view> key = key_of(j);
        a.wanted = key.has_value();
        if (a.wanted) {
          a.key = {*key, hash_key(*key)};
          groups_[group_index(a.key)].prefetch_bucket(a.key.hash);
        }
      }
      if (j >= kAhead / 2 && j - kAhead / 2 < n) {
        const Ahead& a = ring[(j - kAhead / 2) % kAhead];
        if (a.wanted) groups_[group_index(a.key)].prefetch_entry(a.key.hash);
      }
    }
  }
  size_t group_index(const HashedKey& k) const {
    return key_group_of_hash(k.hash, scope_.max_parallelism) - scope_.key_groups.begin;
  }
  static void write_entry(StateWriter& w, std::string_view key, const Entry& e) {
    w.str(key);
    write_state(w, e.expires_at);
    write_state(w, e.value);
  }

  // While a pending snapshot has not settled key group `i`: its lock, for the owner to hold
  // while it looks at or changes the group. Otherwise no lock (and no cost but a check).
  std::unique_lock<std::mutex> guard(size_t i) {
    if (!pending_) return {};
    if (pending_->unsettled.load(std::memory_order_acquire) == 0) {
      pending_.reset();  // the function has written everything
      return {};
    }
    PendingGroup& p = pending_->groups[i];
    if (p.settled.load(std::memory_order_acquire)) return {};
    std::unique_lock lock(p.mutex);
    if (p.settled.load(std::memory_order_relaxed)) return {};
    return lock;
  }
  // Under guard(i)'s lock, before the owner changes, erases or hands out entry `e`: writes
  // its marked value to the pending snapshot unless that is done.
  void preserve(const std::unique_lock<std::mutex>& lock, size_t i, std::string_view key,
                Entry& e) {
    if (!lock.owns_lock() || e.epoch == pending_->epoch) return;
    PendingGroup& p = pending_->groups[i];
    write_entry(p.early, key, e);
    ++p.early_count;
    e.epoch = pending_->epoch;
  }
  // Before the owner goes over every entry (for_each, update_or_erase, sweep_expired): it
  // writes what the pending snapshot still needs of each group, which then needs no lock.
  void settle_all() {
    if (!pending_) return;
    for (size_t i = 0; i < groups_.size(); ++i) {
      const auto lock = guard(i);
      if (!lock.owns_lock()) continue;
      for (auto& [k, e] : groups_[i]) preserve(lock, i, k, e);
      PendingGroup& p = pending_->groups[i];
      p.owner_wrote_all = true;
      p.settled.store(true, std::memory_order_release);
    }
  }
  // snapshot_async()'s function: snapshot()'s format, group by group, each under its lock:
  // what the owner wrote early, then the entries it has not.
  void write_pending(PendingSnapshot& pending, StateWriter& w) const {
    w.u64(groups_.size());
    for (size_t i = 0; i < groups_.size(); ++i) {
      PendingGroup& p = pending.groups[i];
      {
        const std::lock_guard lock(p.mutex);
        w.u64(scope_.key_groups.begin + i);
        const size_t count_at = w.size();
        w.u64(0);
        uint64_t count = p.early_count;
        w.bytes(p.early.data().data(), p.early.data().size());
        if (!p.owner_wrote_all)
          for (const auto& [k, e] : groups_[i]) {
            if (e.epoch == pending.epoch) continue;
            write_entry(w, k, e);
            ++count;
          }
        w.patch_u64(count_at, count);
        p.early = StateWriter();
        p.settled.store(true, std::memory_order_release);
      }
      pending.unsettled.fetch_sub(1, std::memory_order_release);
    }
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

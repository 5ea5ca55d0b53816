// KeyTable: the hash table of one key group of heap keyed state (keyed_state.h), from a key
// to a V. The entries (key, value) are kept dense in one array, found through an index of
// 8-byte buckets (32 bits of the key's hash, entry number; linear probing, at most half
// full). Two arrays rather than entries in the buckets: the index stays half empty (short
// probes) at 16 to 32 bytes per key, the entries waste no slot, and a lookup can be
// prefetched in two steps (the bucket, then the entry it names) ahead of use, which a run
// of lookups into a table larger than the caches needs to overlap its cache misses.
// Erasing an entry moves the last one into its place; inserting may move every entry.
// Thread safety: none; keyed_state.h's rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/key_group.h"
#include "engine/state_key.h"
#include "engine/string_hash.h"

namespace segflow {

template <class V>
class KeyTable {
 public:
  // One entry; reads as a (key, value) pair (structured bindings).
  struct Slot {
    StateKey first;
    V second{};
  };
  using iterator = Slot*;
  using const_iterator = const Slot*;

  iterator begin() { return slots_.data(); }
  iterator end() { return slots_.data() + slots_.size(); }
  const_iterator begin() const { return slots_.data(); }
  const_iterator end() const { return slots_.data() + slots_.size(); }
  size_t size() const { return slots_.size(); }

  // `hash` is always hash_key(key).
  iterator find(std::string_view key, uint64_t hash) {
    if (slots_.empty()) return end();
    const uint32_t h = bucket_hash(hash);
    for (size_t pos = h & mask_;; pos = (pos + 1) & mask_) {
      const Bucket b = buckets_[pos];
      if (b.index == kEmpty) return end();
      if (b.hash == h && StringEq()(slots_[b.index].first.view(), key)) return &slots_[b.index];
    }
  }

  // The entry of `key`, added with a default V when absent (second: whether it was added).
  std::pair<iterator, bool> try_emplace(std::string_view key, uint64_t hash) {
    if ((slots_.size() + 1) * 2 > buckets_.size()) grow();
    const uint32_t h = bucket_hash(hash);
    size_t pos = h & mask_;
    for (;; pos = (pos + 1) & mask_) {
      const Bucket b = buckets_[pos];
      if (b.index == kEmpty) break;
      if (b.hash == h && StringEq()(slots_[b.index].first.view(), key))
        return {&slots_[b.index], false};
    }
    buckets_[pos] = {h, static_cast<uint32_t>(slots_.size())};
    // Grows by half rather than std::vector's double: the entries are most of a key's
    // bytes, and a full table otherwise carries up to as many empty ones.
    if (slots_.size() == slots_.capacity()) slots_.reserve(slots_.size() + slots_.size() / 2 + 4);
    slots_.emplace_back(StateKey(key));
    return {&slots_.back(), true};
  }

  void insert_or_assign(std::string_view key, uint64_t hash, V value) {
    try_emplace(key, hash).first->second = std::move(value);
  }

  // Removes `it`; the last entry moves into its place.
  void erase(iterator it) {
    const auto index = static_cast<uint32_t>(it - begin());
    remove_bucket(bucket_of(index, hash_key(it->first.view())));
    const auto last = static_cast<uint32_t>(slots_.size() - 1);
    if (index != last) {
      buckets_[bucket_of(last, hash_key(slots_[last].first.view()))].index = index;
      *it = std::move(slots_[last]);
    }
    slots_.pop_back();
  }

  // Calls f(key, value&) on every entry, in order, and erases those for which it returns
  // true; the others keep their order. f must not use the table.
  template <class F>
  void erase_if(F f) {
    size_t kept = 0;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (f(slots_[i].first.view(), slots_[i].second)) continue;
      if (kept != i) slots_[kept] = std::move(slots_[i]);
      ++kept;
    }
    if (kept == slots_.size()) return;
    slots_.erase(slots_.begin() + static_cast<std::ptrdiff_t>(kept), slots_.end());
    reindex();
  }

  // The two steps of a lookup's prefetch, some lookups apart: the bucket `find(key, hash)`
  // reads first, then (once it is loaded) the entry it names, or where try_emplace would add
  // the key when it is absent.
  void prefetch_bucket(uint64_t hash) const {
    if (!buckets_.empty()) __builtin_prefetch(&buckets_[bucket_hash(hash) & mask_]);
  }
  void prefetch_entry(uint64_t hash) const {
    if (buckets_.empty()) return;
    const uint32_t h = bucket_hash(hash);
    constexpr size_t kProbes = 4;  // mostly in the loaded line; a longer run is rare
    for (size_t pos = h & mask_, n = 0; n < kProbes; pos = (pos + 1) & mask_, ++n) {
      const Bucket b = buckets_[pos];
      if (b.index == kEmpty) {
        if (slots_.size() < slots_.capacity()) prefetch_slot(slots_.data() + slots_.size());
        return;
      }
      if (b.hash == h) {
        prefetch_slot(&slots_[b.index]);
        return;
      }
    }
  }

 private:
  struct Bucket {
    uint32_t hash;   // bucket_hash of the entry's key
    uint32_t index;  // in slots_; kEmpty: a free bucket
  };
  static constexpr uint32_t kEmpty = UINT32_MAX;
  static constexpr size_t kMinBuckets = 16;

  static void prefetch_slot(const Slot* slot) {
    const char* p = reinterpret_cast<const char*>(slot);
    for (size_t at = 0; at < sizeof(Slot); at += 64) __builtin_prefetch(p + at, 1);
    __builtin_prefetch(p + sizeof(Slot) - 1, 1);
  }
  // The high half: the low bits choose the key group, the same for every key of a table.
  static uint32_t bucket_hash(uint64_t hash) { return static_cast<uint32_t>(hash >> 32); }

  // The bucket of entry `index`, whose key has hash_key `hash`.
  size_t bucket_of(uint32_t index, uint64_t hash) const {
    size_t pos = bucket_hash(hash) & mask_;
    while (buckets_[pos].index != index) pos = (pos + 1) & mask_;
    return pos;
  }
  // Frees bucket `pos`, moving later buckets of its probe run back (no tombstones).
  void remove_bucket(size_t pos) {
    for (size_t next = (pos + 1) & mask_;; next = (next + 1) & mask_) {
      const Bucket b = buckets_[next];
      if (b.index == kEmpty) break;
      const size_t home = b.hash & mask_;
      // b may move to pos when its home is not in (pos, next] (cyclically).
      if (((next - home) & mask_) >= ((next - pos) & mask_)) {
        buckets_[pos] = b;
        pos = next;
      }
    }
    buckets_[pos].index = kEmpty;
  }
  void place(uint32_t hash, uint32_t index) {
    size_t pos = hash & mask_;
    while (buckets_[pos].index != kEmpty) pos = (pos + 1) & mask_;
    buckets_[pos] = {hash, index};
  }
  void grow() {
    std::vector<Bucket> old = std::move(buckets_);
    buckets_.assign(old.empty() ? kMinBuckets : old.size() * 2, Bucket{0, kEmpty});
    mask_ = buckets_.size() - 1;
    for (const Bucket& b : old)
      if (b.index != kEmpty) place(b.hash, b.index);
  }
  // Rebuilds the index from the entries' keys (after erase_if moved them).
  void reindex() {
    size_t n = kMinBuckets;
    while (n < slots_.size() * 2) n *= 2;
    buckets_.assign(n, Bucket{0, kEmpty});
    mask_ = n - 1;
    for (size_t i = 0; i < slots_.size(); ++i)
      place(bucket_hash(hash_key(slots_[i].first.view())), static_cast<uint32_t>(i));
  }

  std::vector<Bucket> buckets_;  // empty until the first insert; a power of two
  size_t mask_ = 0;
  std::vector<Slot> slots_;
};

}  // namespace segflow

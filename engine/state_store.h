// KeyedStateStore: where keyed state lives when it is larger than memory (the `rocksdb`
// state backend, engine/rocksdb_state_store.h). A ValueState given a store keeps a bounded
// cache in front of it (engine/cached_value_state.h); the store holds serialized entries
// keyed by (state, key group, key). One store per operator subtask, holding all its states;
// its contents are scratch for the running process: checkpoints export them through the
// per-key-group snapshot format, and a restore fills a fresh store; or, for an incremental
// store, checkpoints record the store's own files (engine/store_snapshot.h).
// Thread safety: owned by one subtask; used by its thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/store_snapshot.h"

namespace segflow {

// Written by a state's snapshot in place of its key-group count when its entries are in the
// store's files (an incremental checkpoint).
inline constexpr uint64_t kEntriesInStoreFiles = ~uint64_t{0};

class KeyedStateStore {
 public:
  virtual ~KeyedStateStore() = default;

  // Numbers the states of this store in creation order (an operator creates its states in
  // the same order in every run, but ids only matter within one process).
  uint32_t register_state() { return next_state_++; }
  // How many entries each state keeps in its in-memory cache.
  virtual size_t cache_entries() const = 0;

  // Reads an entry into `value`; false when absent.
  virtual bool get(uint32_t state, uint32_t key_group, std::string_view key,
                   std::string& value) = 0;
  // Buffered writes, applied (atomically, in order) by commit(); get() does not see them
  // before that.
  virtual void put(uint32_t state, uint32_t key_group, std::string_view key,
                   std::string_view value) = 0;
  virtual void erase(uint32_t state, uint32_t key_group, std::string_view key) = 0;
  virtual void commit() = 0;
  // Calls f(key, value) for every committed entry of `state` in `key_group`, in key order;
  // writes buffered meanwhile are applied by the next commit().
  virtual void scan(uint32_t state, uint32_t key_group,
                    const std::function<void(std::string_view, std::string_view)>& f) = 0;

  // Incremental checkpoints. While `in_files` is set (by the subtask, around its operators'
  // snapshot), states write back their caches and a marker instead of their entries; the
  // subtask then takes snapshot_files(). A restore calls restore_files() before the
  // operators' restore() (which then skips the marker).
  virtual bool incremental() const { return false; }
  void set_snapshot_in_files(bool in_files) { snapshot_in_files_ = in_files; }
  bool snapshot_in_files() const { return snapshot_in_files_; }
  // The store's committed contents now (null when it never held anything); `file_prefix`
  // names its uploaded files uniquely within the job's checkpoints.
  virtual std::shared_ptr<PendingStoreSnapshot> snapshot_files(const std::string& file_prefix) {
    (void)file_prefix;
    throw std::logic_error("this state store takes no incremental snapshots");
  }
  // Replaces the contents with the entries of `sources` in `key_groups`.
  virtual void restore_files(const std::vector<StoreRestoreSource>& sources,
                             KeyGroupRange key_groups) {
    (void)sources;
    (void)key_groups;
    throw std::logic_error("this state store cannot restore incremental snapshots");
  }

 private:
  uint32_t next_state_ = 0;
  bool snapshot_in_files_ = false;
};

}  // namespace segflow

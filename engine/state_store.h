// KeyedStateStore: where keyed state lives when it is larger than memory (the `rocksdb`
// state backend, engine/rocksdb_state_store.h). A ValueState given a store keeps a bounded
// cache in front of it (engine/cached_value_state.h); the store holds serialized entries
// keyed by (state, key group, key). One store per operator subtask, holding all its states;
// its contents are scratch for the running process: checkpoints export them through the
// per-key-group snapshot format, and a restore fills a fresh store.
// Thread safety: owned by one subtask; used by its thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace segflow {

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

 private:
  uint32_t next_state_ = 0;
};

}  // namespace segflow

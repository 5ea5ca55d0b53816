// The rocksdb state backend: a KeyedStateStore on a RocksDB database of its own, for keyed
// state larger than memory. Built only when RocksDB (librocksdb-dev) is found:
// SEGFLOW_HAVE_ROCKSDB is 1 then. Keys are state id and key group (both big-endian, so one
// key group of one state is a contiguous range) followed by the record key. The database is
// scratch: it is wiped when opened and deleted when the store is destroyed; durability comes
// from checkpoints (no write-ahead log). An incremental store's checkpoints record its
// files (engine/rocksdb_incremental.h); otherwise they export its entries.
// Thread safety: as KeyedStateStore.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "engine/state_store.h"

namespace segflow {

#if SEGFLOW_HAVE_ROCKSDB
// The database lives in `dir` (created, wiped); it is opened on first use. Each state keeps
// up to `cache_entries` entries in memory.
std::unique_ptr<KeyedStateStore> make_rocksdb_state_store(std::string dir, size_t cache_entries,
                                                          bool incremental);
#endif

}  // namespace segflow

// StoreSnapshot: what an incremental checkpoint of a KeyedStateStore (the rocksdb backend
// with `incremental: true`) records for one operator subtask: the database's files as they
// were at the barrier. Immutable data files (RocksDB SST files) live once in the job's
// `shared/` checkpoint directory and are referenced by every checkpoint that still needs
// them, with their size and XXH64; the database's small files (MANIFEST, CURRENT, OPTIONS)
// are held inline. See engine/README.md "Incremental RocksDB checkpoints".
// Thread safety: plain values; PendingStoreSnapshot::upload runs on the checkpoint writer.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/key_group.h"
#include "engine/state_io.h"

namespace segflow {

// One data file of a store snapshot.
struct StoreFile {
  std::string local_name;  // its name in the database directory, e.g. "000012.sst"
  std::string path;        // relative to the checkpoint directory, e.g. "../shared/x.sst"
  uint64_t size = 0;
  uint64_t hash = 0;  // XXH64 of the file

  void write(StateWriter& w) const {
    w.str(local_name);
    w.str(path);
    w.u64(size);
    w.u64(hash);
  }
  static StoreFile read(StateReader& r) {
    StoreFile f;
    f.local_name = r.str();
    f.path = r.str();
    f.size = r.u64();
    f.hash = r.u64();
    return f;
  }
};

struct StoreSnapshot {
  std::vector<StoreFile> files;
  std::vector<std::pair<std::string, std::string>> small_files;  // name, contents

  void write(StateWriter& w) const {
    write_state(w, files);
    write_state(w, small_files);
  }
  static StoreSnapshot read(StateReader& r) {
    StoreSnapshot s;
    s.files = read_state<std::vector<StoreFile>>(r);
    s.small_files = read_state<std::vector<std::pair<std::string, std::string>>>(r);
    return s;
  }
};

// A store's files captured at the barrier (hard links, so the running database may go on
// and compact): the checkpoint writer uploads those not uploaded before and gets the
// snapshot to record. Deletes its captured files when destroyed.
class PendingStoreSnapshot {
 public:
  virtual ~PendingStoreSnapshot() = default;
  // Copies new data files to <checkpoint_dir>/../shared/ (synced); `uploaded_bytes` grows
  // by what was copied. Throws std::runtime_error on I/O errors.
  virtual StoreSnapshot upload(const std::string& checkpoint_dir, uint64_t& uploaded_bytes) = 0;
};

// One old subtask's store snapshot to restore from.
struct StoreRestoreSource {
  std::string checkpoint_dir;  // StoreFile::path is relative to it
  const StoreSnapshot* snapshot = nullptr;
  KeyGroupRange key_groups;  // the key groups the old subtask owned
};

}  // namespace segflow

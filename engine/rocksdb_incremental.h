// The file side of incremental RocksDB checkpoints, used by the rocksdb state store
// (engine/rocksdb_state_store.cpp) only: capturing a database's files at the barrier
// (rocksdb::Checkpoint: flush, then hard links), uploading the data files no earlier
// checkpoint uploaded to the job's shared checkpoint directory, and laying a checkpoint's
// files out as a database directory again for a restore. RocksDB's headers stay in the .cpp.
// Thread safety: UploadedFiles is locked; the rest are free functions.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "engine/store_snapshot.h"

namespace rocksdb {
class DB;
}

namespace segflow {

// The data files of one store that are in the shared directory already, by local name
// (a RocksDB file name is never reused within a database's life).
class UploadedFiles {
 public:
  bool find(const std::string& local_name, StoreFile& out) const {
    std::lock_guard lock(mutex_);
    auto it = files_.find(local_name);
    if (it == files_.end()) return false;
    out = it->second;
    return true;
  }
  // Forgets files the database no longer has: they will not be referenced again.
  void replace_all(std::map<std::string, StoreFile> files) {
    std::lock_guard lock(mutex_);
    files_ = std::move(files);
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, StoreFile> files_;
};

// Captures `db`'s committed contents into `capture_dir` (must not exist; same file system
// as the database). Uploaded files are named `file_prefix`-<checkpoint dir name>-<file>.
std::shared_ptr<PendingStoreSnapshot> capture_store_files(rocksdb::DB& db,
                                                          const std::string& capture_dir,
                                                          std::string file_prefix,
                                                          std::shared_ptr<UploadedFiles> uploaded);

// Lays `source`'s files out in `into_dir` (created) as a database directory: data files
// are hard-linked from the checkpoint (copied across file systems). Throws
// std::runtime_error on I/O errors.
void materialize_store_files(const StoreRestoreSource& source, const std::string& into_dir);

}  // namespace segflow

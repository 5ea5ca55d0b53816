// Checkpoint storage: the on-disk layout of checkpoints and savepoints.
//
//   <dir>/chk-<id>/<subtask>.state      one file per subtask: its chained operators' state
//   <dir>/chk-<id>/_metadata            written last (temporary file, fsync, rename): the
//                                       checkpoint id and every subtask file's size and hash
//   <dir>/savepoint-<id>/...            the same, taken on demand; never deleted by retention
//   <dir>/shared/                       data files of incremental RocksDB stores, referenced
//                                       by the checkpoints that hold them (store_snapshot.h)
//
// Every subtask file and _metadata is framed as magic, version, payload length, payload,
// XXH64(payload); _metadata also lists every shared file the checkpoint references, with
// its size and XXH64. A checkpoint is complete when its _metadata is intact and every file
// it lists is present with the recorded size and hash; anything else (a crash
// mid-checkpoint, a corrupt file) is skipped in favour of the previous complete one.
// Thread safety: free functions; concurrent writers must use different files.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/store_snapshot.h"

namespace segflow {

// The state of one operator subtask in a checkpoint.
struct OperatorSnapshot {
  std::string operator_id;
  uint32_t subtask = 0;
  uint32_t parallelism = 1;
  std::string state;   // Operator::snapshot / Source::snapshot
  std::string timers;  // TimerService::snapshot; empty for sources
  // Incremental RocksDB stores: the files captured at the barrier, uploaded by
  // write_subtask_file; load() gives the recorded snapshot in `store`.
  std::shared_ptr<PendingStoreSnapshot> pending_store{};
  std::optional<StoreSnapshot> store{};
};

// One subtask file as listed in _metadata.
struct CheckpointFile {
  std::string name;
  uint64_t size = 0;
  uint64_t hash = 0;                // XXH64 of the whole file
  std::vector<StoreFile> shared{};  // store data files the subtask file references
  uint64_t uploaded_bytes = 0;      // of those, copied to shared/ for this checkpoint
};

// A complete checkpoint read back from disk.
struct CheckpointData {
  int64_t id = 0;
  std::string path;
  uint64_t bytes = 0;
  std::map<std::string, std::vector<OperatorSnapshot>> by_operator;
};

namespace checkpoint_storage {

// "chk-000042" or "savepoint-000042".
std::string directory_name(int64_t id, bool savepoint);

// Writes a subtask file, after uploading its operators' pending store files; returns its
// description for the metadata. Throws std::runtime_error on I/O errors.
CheckpointFile write_subtask_file(const std::string& path,
                                  const std::vector<OperatorSnapshot>& operators);

// Writes <checkpoint_dir>/_metadata atomically (after syncing the subtask files' directory).
void write_metadata(const std::string& checkpoint_dir, int64_t id,
                    const std::vector<CheckpointFile>& files);

// Loads and verifies one checkpoint directory. Throws std::runtime_error saying what is
// missing or corrupt.
CheckpointData load(const std::string& checkpoint_dir);

// The newest complete checkpoint (and savepoint, with `savepoints`) under `base`; damaged
// ones are skipped with a line each in `skipped`. nullopt when there is none.
std::optional<CheckpointData> load_latest(const std::string& base, bool savepoints,
                                          std::vector<std::string>* skipped = nullptr);

// `path` is a checkpoint directory (has _metadata) or a base directory (its newest
// complete checkpoint or savepoint). Throws std::runtime_error when nothing complete is found.
CheckpointData load_from(const std::string& path);

// Deletes chk-* directories of `base` except the newest `retain` complete ones, and
// incomplete ones older than the newest complete one; then the shared files no remaining
// checkpoint references (unless an incomplete checkpoint remains: it may be in progress).
void apply_retention(const std::string& base, uint32_t retain);

// Deletes checkpoint and savepoint directories of `base` with an id above `id` (leftovers
// of a run that was restarted from `id`).
void remove_newer_than(const std::string& base, int64_t id);

// Deletes every chk-* directory of `base` and the shared files (the job finished;
// savepoints stay: they hold no store files).
void remove_checkpoints(const std::string& base);

}  // namespace checkpoint_storage
}  // namespace segflow

// StagedFile: the two-phase commit behind the file sink's exactly-once output. Lines go to
// `<path>.inprogress`; at a checkpoint barrier, pre_commit(id) turns that into
// `<path>.pending-<id>`, to be placed at a known offset of `path`; commit(id), once checkpoint
// id is complete, writes the pending files up to id at their offsets and deletes them. The
// state (committed length and pending files) is part of the snapshot: restoring it writes
// the pending files the restored checkpoint covers, truncates `path` to the length the
// checkpoint recorded, and discards everything later, so `path` holds each record of the
// restored prefix exactly once. Writes at fixed offsets make a commit interrupted by a crash
// safe to repeat. Thread safety: one instance per sink subtask, used by its thread only.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "engine/state_io.h"

namespace segflow {

class StagedFile {
 public:
  // Opens `path` (truncated unless `restoring`) and a fresh in-progress file; deletes stale
  // staging files unless `restoring` (restore() does it). Throws std::runtime_error.
  StagedFile(std::string path, bool restoring);
  ~StagedFile();
  StagedFile(const StagedFile&) = delete;
  StagedFile& operator=(const StagedFile&) = delete;

  void append(std::string_view bytes);
  // At barrier `id`: everything appended since the last barrier becomes pending file `id`.
  void pre_commit(int64_t id);
  // Checkpoint `id` is complete: pending files up to `id` go into the final file.
  void commit(int64_t id);
  // End of stream: everything, pending and in progress, goes into the final file.
  void commit_all();

  void snapshot(StateWriter& w) const;
  void restore(StateReader& r);

 private:
  struct Pending {
    int64_t id;
    uint64_t offset;
    uint64_t size;
  };
  std::string pending_path(int64_t id) const;
  std::string in_progress_path() const { return path_ + ".inprogress"; }
  void open_in_progress();
  // Copies file `from` into the final file at `offset`.
  void write_at(const std::string& from, uint64_t offset);
  void sync_final();
  void remove_staging_files() const;
  [[noreturn]] void fail(const std::string& what, const std::string& path) const;

  std::string path_;
  int final_fd_ = -1;
  std::FILE* in_progress_ = nullptr;
  uint64_t in_progress_size_ = 0;
  uint64_t staged_length_ = 0;  // committed + pending: where in-progress data will go
  std::vector<Pending> pending_;
};

}  // namespace segflow

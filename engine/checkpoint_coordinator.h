// CheckpointCoordinator: drives aligned checkpoints (Chandy-Lamport, as Flink). Every
// `interval` (or at once for a savepoint) it triggers checkpoint n: it creates the
// checkpoint directory and publishes n; each source subtask sees it between two polls,
// snapshots, and injects barrier n in order with its data; every other subtask aligns the
// barriers of its inputs, snapshots its chained operators and timers, and forwards the
// barrier. A subtask hands its serialized state to the coordinator's writer thread and goes
// on at once; the writer writes (and fsyncs) the subtask's file and acknowledges it; the
// last acknowledgement writes _metadata, which completes the checkpoint, and subtasks then
// tell their operators (Operator::on_checkpoint_complete: sinks commit). One checkpoint is in
// flight at a time. Once a subtask has finished (end of stream), no checkpoint can complete any
// more: the one in flight is aborted and none is triggered after it. Thread safety: run() on its
// own thread (it starts the writer thread); triggered(), completed() and stats from any thread;
// submit()/finished() from subtask threads; request_savepoint() is async-signal-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "engine/checkpoint_storage.h"
#include "engine/job_graph.h"

namespace segflow {

// Checkpoint figures for metrics: written by the coordinator, read by anyone.
struct CheckpointStats {
  std::atomic<int64_t> last_completed_id{0};
  std::atomic<uint64_t> completed{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint64_t> aborted{0};          // a subtask finished before acknowledging
  std::atomic<int64_t> last_duration_ns{0};  // trigger to _metadata
  std::atomic<uint64_t> last_size_bytes{0};  // files written for the checkpoint
  // Every file the checkpoint needs: with incremental stores, also the shared files that
  // earlier checkpoints uploaded (equals last_size_bytes otherwise).
  std::atomic<uint64_t> last_state_size_bytes{0};
  std::atomic<uint64_t> written_bytes{0};     // by every completed checkpoint of this run
  std::atomic<int64_t> last_alignment_ns{0};  // longest barrier alignment of a subtask
  std::atomic<int64_t> last_pause_ns{0};  // longest snapshot (serialising) on a subtask's thread
  // Longest deferred part of a subtask's snapshot (keyed state written copy-on-write, on a
  // thread of its own while the subtask goes on).
  std::atomic<int64_t> last_async_ns{0};
  std::atomic<int64_t> last_write_ns{0};  // longest subtask file write + fsync (writer thread)
  std::atomic<int64_t> restored_id{0};    // the checkpoint this run started from; 0: none
  std::atomic<int64_t> restore_ns{0};     // longest open + restore of a subtask
};

class CheckpointCoordinator {
 public:
  // `subtasks`: how many acknowledgements complete a checkpoint. Ids start at `first_id`
  // (restored id + 1); checkpoint directories above first_id - 1 are deleted.
  CheckpointCoordinator(CheckpointSettings settings, size_t subtasks, int64_t first_id);

  // The trigger loop; returns once stop() was called and the writer has written every
  // submitted snapshot.
  void run();
  void stop();
  // Takes a savepoint as soon as no checkpoint is in flight. Async-signal-safe.
  void request_savepoint() { savepoint_requested_.store(true, std::memory_order_relaxed); }

  // The newest triggered checkpoint id (0: none yet). Sources inject barriers for it.
  int64_t triggered() const { return triggered_.load(std::memory_order_acquire); }
  // Whether checkpoint `id` (triggered already) is a savepoint: savepoints hold no
  // incremental store files, so they stand alone.
  bool is_savepoint(int64_t id) const {
    return savepoint_id_.load(std::memory_order_acquire) == id;
  }
  // The newest completed checkpoint id (0: none).
  int64_t completed() const { return stats_.last_completed_id.load(std::memory_order_acquire); }
  // Subtask `subtask` (0-based over all subtasks) took its snapshot for checkpoint `id`:
  // the writer thread writes it to `file_name` in the checkpoint directory and acknowledges.
  // `pause_ns`: how long the subtask stopped to take it; `async_ns`: how long its deferred
  // part took after that (Operator::snapshot_async).
  void submit(int64_t id, size_t subtask, std::string file_name,
              std::vector<OperatorSnapshot> operators, int64_t alignment_ns, int64_t pause_ns = 0,
              int64_t async_ns = 0);
  // Subtask `subtask` has finished: no later barrier will reach it.
  void finished(size_t subtask);
  // A subtask opened and restored its operators in `ns`.
  void restored(int64_t ns);

  const CheckpointStats& stats() const { return stats_; }
  const CheckpointSettings& settings() const { return settings_; }

 private:
  struct WriteJob {
    int64_t id;
    size_t subtask;
    std::string file_name;
    std::vector<OperatorSnapshot> operators;
    int64_t alignment_ns;
    int64_t pause_ns;
    int64_t async_ns;
  };
  void trigger(bool savepoint);
  void write_loop();
  void acknowledge(const WriteJob& job, const CheckpointFile& file, int64_t write_ns);
  void abort_in_flight_locked(bool failed);

  const CheckpointSettings settings_;
  const size_t subtasks_;
  int64_t next_id_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool any_finished_ = false;
  int64_t in_flight_ = 0;  // 0: none
  std::string in_flight_dir_;
  int64_t started_ns_ = 0;
  std::vector<bool> snapshotted_;  // per subtask: submitted its snapshot of in_flight_
  std::vector<bool> acked_;
  std::deque<WriteJob> writes_;
  bool writer_done_ = false;
  std::vector<CheckpointFile> files_;
  size_t acks_ = 0;
  int64_t max_alignment_ns_ = 0;
  int64_t max_pause_ns_ = 0;
  int64_t max_async_ns_ = 0;
  int64_t max_write_ns_ = 0;

  std::atomic<int64_t> triggered_{0};
  std::atomic<bool> savepoint_requested_{false};
  std::atomic<int64_t> savepoint_id_{0};  // the newest savepoint triggered
  CheckpointStats stats_;
};

}  // namespace segflow

// Subtask: one parallel instance of a chain, run by one thread. Reads its input channels
// (or polls its source), pushes batches through the chained operators, tracks the input
// watermark (minimum over active inputs), fires timers, and writes through its Router.
// Internal to the runtime (see executor.h). Thread safety: run() on its own thread; the
// constructor and connect calls before that thread starts.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "engine/checkpoint_coordinator.h"
#include "engine/executor.h"
#include "engine/router.h"

namespace segflow {

class Subtask {
 public:
  struct Slot {
    std::string operator_id;
    std::unique_ptr<Operator> op;
    OperatorContext ctx;
    TimerService timers;
    std::unique_ptr<Output> out;
    OperatorStats* stats = nullptr;
    size_t last_snapshot_bytes = 0;  // state + timers: the next snapshot reserves about this
  };

  // `time_stats` (busy / idle accounting) must outlive the subtask.
  Subtask(const JobSettings& settings, const RuntimeServices& services,
          const std::atomic<bool>& stop_requested, const std::atomic<bool>& cancelled,
          SubtaskStats* time_stats);
  // Waits for the deferred part of the last snapshot.
  ~Subtask();

  // Building, in chain order: at most one source first, then operators.
  void set_source(std::unique_ptr<Source> source, OperatorContext ctx, OperatorStats* stats);
  void add_operator(std::unique_ptr<Operator> op, OperatorContext ctx, OperatorStats* stats);
  void add_input(Channel* channel) { inputs_.push_back(channel); }
  // Checkpointing: `index` numbers this subtask among all of the job's (acknowledgements).
  void enable_checkpoints(CheckpointCoordinator* coordinator, size_t index) {
    coordinator_ = coordinator;
    index_ = index;
  }
  // State to restore after open (outlives run()).
  void restore_from(const CheckpointData* data) { restore_ = data; }
  Router& router() { return router_; }
  Wakeup& wakeup() { return wakeup_; }
  SubtaskStats& time_stats() { return *time_stats_; }
  std::string name() const;
  // This subtask's file in a checkpoint directory.
  std::string name_for_file() const;

  // The thread body.
  void run();

 private:
  enum class InputState : uint8_t { kActive, kIdle, kEnded };

  void wire_outputs();
  void open_all();
  void run_source();
  void run_inputs();
  // Pushes the partly filled batches of every operator of the chain, then of the router:
  // called whenever the subtask runs out of input, so records never wait for the next
  // watermark (which may not come while the inputs are idle).
  void flush_outputs();
  void handle(size_t input, const Element& e);
  void deliver(size_t from_slot, BatchPtr& batch);
  // The same for a batch the slot's output does not own (Output::forward_all), which stands
  // for ingest stamp `ingest_ns`.
  void deliver_view(size_t from_slot, const Batch& batch, int64_t ingest_ns);
  // Runs `batch` through slot `slot` with `ingest_ns` (by default its own stamp) as the
  // output's cause; a sink observes the end-to-end latency after it.
  void process_in_slot(size_t slot, const Batch& batch) {
    process_in_slot(slot, batch, batch.ingest_ns());
  }
  void process_in_slot(size_t slot, const Batch& batch, int64_t ingest_ns);
  void process_batch(Slot& s, const Batch& batch, int64_t ingest_ns);
  // Runs one identity-merge control record through slot `s` (engine/profile_merge.h).
  void apply_merge_record(Slot& s, const Batch& batch, const Record& r);
  void update_input_watermark();
  // Fires due event-time timers and on_watermark in chain order, then forwards the
  // watermark; with `closing`, also closes each operator (end of stream).
  void advance_watermark(int64_t watermark, bool closing);
  void fire_processing_timers();
  int64_t next_processing_timer() const;
  void finish();
  // Checkpoints: a source injects the barrier of a newly triggered checkpoint; everyone
  // tells its operators about completed ones.
  void poll_checkpoints();
  // Tells the operators of the newest completed checkpoint, if not done yet.
  void notify_completed();
  // Barrier `id` arrived on `input`: block that input until all inputs delivered it.
  void on_barrier(size_t input, int64_t id);
  void complete_alignment_if_ready();
  // Flushes the chain and snapshots every operator and its timers; what an operator defers
  // (Operator::snapshot_async: its keyed state) is written on deferred_snapshot_, which
  // then submits the snapshot for writing and acknowledgement.
  void take_snapshot(int64_t id, int64_t alignment_ns);
  // Waits for deferred_snapshot_, if running.
  void finish_deferred_snapshot();
  void restore_slot(Slot& slot);
  void restore_store_files(Slot& slot, const std::vector<OperatorSnapshot>& snapshots);
  void restore_source();
  bool input_open(size_t c) const { return !blocked_[c]; }
  // Adds the time since `since` (steady_clock ns) to the idle counter.
  void count_idle(int64_t since);

  const JobSettings& settings_;
  RuntimeServices services_;
  const std::atomic<bool>& stop_requested_;
  const std::atomic<bool>& cancelled_;
  SubtaskStats* time_stats_;

  std::unique_ptr<Source> source_;
  OperatorContext source_ctx_;
  std::unique_ptr<Output> source_out_;
  OperatorStats* source_stats_ = nullptr;
  int64_t max_source_time_ = kMinTime;

  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Channel*> inputs_;
  std::vector<int64_t> input_watermarks_;
  std::vector<InputState> input_states_;
  size_t ended_inputs_ = 0;
  bool idle_forwarded_ = false;
  int64_t watermark_ = kMinTime;

  CheckpointCoordinator* coordinator_ = nullptr;
  size_t index_ = 0;
  const CheckpointData* restore_ = nullptr;
  int64_t last_barrier_ = 0;    // the newest barrier forwarded
  int64_t aligning_ = 0;        // the barrier being aligned (> last_barrier_ while aligning)
  int64_t align_start_ns_ = 0;  // steady_clock
  std::vector<bool> blocked_;   // per input: delivered barrier `aligning_`
  int64_t notified_complete_ = 0;

  Wakeup wakeup_;
  Router router_;
  std::thread deferred_snapshot_;  // writes the deferred part of one snapshot, then submits
};

}  // namespace segflow

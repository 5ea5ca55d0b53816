// Executor: runs a validated LogicalGraph. It plans chains (job_graph.h), creates one
// subtask per (chain, parallel instance) with its own thread, connects subtasks with
// bounded channels (forward, key-hash, broadcast or rebalance), and drives the operator
// lifecycle (operator.h): batches, watermarks (minimum over active inputs; idle sources
// excused), timers, checkpoints (checkpoint_coordinator.h) and restore, and end of stream,
// which drains the whole graph.
// Thread safety: construct and run() on one thread; stop() and the stats accessors from
// any thread (stop() only stores an atomic, so a signal handler may call it).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/channel.h"
#include "engine/checkpoint_coordinator.h"
#include "engine/clock.h"
#include "engine/dead_letter.h"
#include "engine/job_graph.h"
#include "engine/latency_histogram.h"
#include "engine/operator_metrics.h"
#include "engine/profile_merge.h"

namespace segflow {

class Subtask;

// Counters of one operator subtask: written by its thread, read by anyone.
struct OperatorStats {
  std::string operator_id;
  uint32_t subtask = 0;
  bool is_source = false;
  bool is_sink = false;  // feeds nothing: end_to_end_latency is measured here
  std::atomic<uint64_t> records_in{0};
  std::atomic<uint64_t> records_out{0};
  std::atomic<uint64_t> bytes_in{0};  // sources that read bytes (file) report them here
  std::atomic<int64_t> watermark{kMinTime};
  // Sinks: time from the ingest stamp of each batch received to the end of its process(),
  // one observation per record (engine/README.md "End-to-end latency").
  LatencyHistogram end_to_end_latency;
};

// Time accounting of one subtask (one thread): written by its thread, read by anyone.
// busy = elapsed - idle - backpressured, where backpressured is the time blocked on the
// `outputs` channels (Channel::blocked_ns), as Flink's busy/idle/backPressuredTimeMsPerSecond.
struct SubtaskStats {
  std::string operator_id;  // the chain's head operator
  uint32_t subtask = 0;
  std::vector<const Channel*> outputs;
  std::atomic<int64_t> started_ns{0};   // steady_clock; 0: not started
  std::atomic<int64_t> finished_ns{0};  // steady_clock; 0: still running
  std::atomic<uint64_t> idle_ns{0};     // waiting for input (or a source with nothing to emit)
};

enum class JobState : uint8_t { kCreated, kRunning, kFinished, kFailed };
const char* to_string(JobState state);

// Process-wide things the runtime hands to operators.
struct RuntimeServices {
  const Clock* clock = &SystemClock::instance();
  DeadLetterOutput* dead_letters = nullptr;  // required
  // Where identity merges hand profile state between subtasks (engine/profile_merge.h);
  // null: the executor uses its own.
  ProfileHandoff* profile_handoff = nullptr;
  const CheckpointData* restore = nullptr;  // state to start from (outlives the executor)
};

class Executor {
 public:
  // Instantiates every operator subtask and channel; throws if an operator cannot be made.
  Executor(const LogicalGraph& graph, const JobSettings& settings, RuntimeServices services);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs until every source has ended and the graph has drained (or stop() was called and
  // the graph drained). Rethrows the first exception an operator threw; the job is then
  // cancelled without draining.
  void run();
  // Graceful stop: sources end now; everything in flight is processed and written.
  void stop() { stop_requested_.store(true, std::memory_order_relaxed); }
  // Takes a savepoint soon (checkpointing must be configured). Async-signal-safe.
  void request_savepoint() {
    if (coordinator_) coordinator_->request_savepoint();
  }
  // nullptr when the job takes no checkpoints.
  const CheckpointStats* checkpoint_stats() const {
    return coordinator_ ? &coordinator_->stats() : nullptr;
  }

  const std::deque<OperatorStats>& operator_stats() const { return stats_; }
  const std::deque<SubtaskStats>& subtask_stats() const { return subtask_stats_; }
  // What the operators publish themselves (engine/operator_metrics.h).
  const MetricRegistry& operator_metrics() const { return *metric_registry_; }
  JobState state() const { return state_.load(std::memory_order_acquire); }
  std::vector<const Channel*> channels() const;
  const PhysicalPlan& plan() const { return plan_; }
  // Number of threads run() starts.
  size_t thread_count() const;

 private:
  void fail(std::exception_ptr error);
  KeyedStateStore* open_state_store(const std::string& operator_id, uint32_t subtask);

  JobSettings settings_;
  ProfileHandoff profile_handoff_;
  RuntimeServices services_;
  PhysicalPlan plan_;
  std::deque<OperatorStats> stats_;
  std::deque<SubtaskStats> subtask_stats_;
  std::shared_ptr<MetricRegistry> metric_registry_ = std::make_shared<MetricRegistry>();
  std::atomic<JobState> state_{JobState::kCreated};
  std::vector<std::unique_ptr<Channel>> channels_;
  std::vector<std::unique_ptr<KeyedStateStore>> state_stores_;  // rocksdb backend; outlive subtasks
  std::vector<std::unique_ptr<Subtask>> subtasks_;
  std::unique_ptr<CheckpointCoordinator> coordinator_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> cancelled_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace segflow

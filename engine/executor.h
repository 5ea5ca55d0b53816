// Executor: runs a validated LogicalGraph. It plans chains (job_graph.h), creates one
// subtask per (chain, parallel instance) with its own thread, connects subtasks with
// bounded channels (forward, key-hash, broadcast or rebalance), and drives the operator
// lifecycle (operator.h): batches, watermarks (minimum over active inputs; idle sources
// excused), timers, and end of stream, which drains the whole graph.
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
#include "engine/clock.h"
#include "engine/dead_letter.h"
#include "engine/job_graph.h"

namespace segflow {

class Subtask;

// Counters of one operator subtask: written by its thread, read by anyone.
struct OperatorStats {
  std::string operator_id;
  uint32_t subtask = 0;
  bool is_source = false;
  std::atomic<uint64_t> records_in{0};
  std::atomic<uint64_t> records_out{0};
  std::atomic<int64_t> watermark{kMinTime};
};

// Process-wide things the runtime hands to operators.
struct RuntimeServices {
  const Clock* clock = &SystemClock::instance();
  DeadLetterOutput* dead_letters = nullptr;  // required
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

  const std::deque<OperatorStats>& operator_stats() const { return stats_; }
  std::vector<const Channel*> channels() const;
  const PhysicalPlan& plan() const { return plan_; }
  // Number of threads run() starts.
  size_t thread_count() const;

 private:
  void fail(std::exception_ptr error);

  JobSettings settings_;
  RuntimeServices services_;
  PhysicalPlan plan_;
  std::deque<OperatorStats> stats_;
  std::vector<std::unique_ptr<Channel>> channels_;
  std::vector<std::unique_ptr<Subtask>> subtasks_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> cancelled_{false};
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

}  // namespace segflow

// The operator lifecycle. An operator *definition* (its parsed config) is immutable; the
// runtime asks it for one Operator instance per subtask, and that instance holds the
// subtask's state. All methods of one instance run on the subtask's thread, never
// concurrently: timers, watermarks and batches are delivered one after another.
//
//   open        once, before anything else; may register timers, may not emit.
//   process     for each input batch; may emit to `out`.
//   on_timer    for each due timer (event-time timers before the watermark that made them
//               due is delivered to on_watermark); may emit.
//   on_watermark after timers, when the input watermark advances; may emit. Records emitted
//               must not be earlier than the watermark (they would be late downstream).
//   snapshot /  write / read all state (keyed state, timers are saved by the runtime).
//   restore     restore runs after open (ctx.restoring says it will); when the parallelism
//               changed, it runs once per old subtask's snapshot, and keyed state keeps only
//               the key groups this subtask owns.
//   snapshot_async  what the runtime calls at a checkpoint barrier instead of snapshot:
//               writes what must be taken at once to `w` and returns the rest, which the
//               runtime runs on another thread while the operator goes on processing (the
//               function of ValueState::snapshot_async, engine/keyed_state.h); the bytes are
//               snapshot()'s. The default writes all of snapshot() at once.
//   prepare_snapshot  at a checkpoint barrier, just before snapshot: may flush or rotate
//               (a sink pre-commits here).
//   on_checkpoint_complete  checkpoint `id` is durable: a sink commits what it pre-committed.
//   close       once at end of stream, after the final watermark (kMaxTime); may emit.
//
// Identity merges (protocol in engine/profile_merge.h): a keyed operator whose per-profile
// state must follow a profile merge returns true from merges_profiles() and implements
//   export_profile(merged, time, w, out)   on the subtask owning `merged`: write everything
//               the operator keeps for `merged` to `w` (state, and what its timers stand for),
//               then drop it (state and timers) as if the profile had never been seen; may
//               emit what ends for `merged` (e.g. `exited` for its segments).
//   import_profile(survivor, merged, time, r, out)   on the subtask owning `survivor`: read
//               what export_profile of the same operator (another instance, maybe another
//               subtask) wrote for `merged`, merge it into `survivor`'s state, register the
//               timers it needs, and emit the changes that follow (e.g. `entered`).
// Both run between process() calls, in order with the data. `time` is the event time of the
// event that linked the profiles; records emitted must not be earlier than the watermark
// (emit at max(time, watermark + 1)). The bytes written are opaque to the runtime; the
// format is the operator's (typically its ProfileState codec). An operator that keeps no
// per-profile state leaves the defaults; merge records then pass through it unchanged.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/batch.h"
#include "engine/clock.h"
#include "engine/dead_letter.h"
#include "engine/key_group.h"
#include "engine/keyed_state.h"
#include "engine/operator_metrics.h"
#include "engine/output.h"
#include "engine/state_io.h"
#include "engine/timer_service.h"

namespace segflow {

// What a subtask's operator can reach: its identity, state scope, timers, clock and the
// dead-letter output. Lives as long as the subtask; the runtime updates `watermark`.
struct OperatorContext {
  std::string operator_id;
  uint32_t subtask = 0;
  uint32_t parallelism = 1;
  uint32_t max_parallelism = 128;
  KeyGroupRange key_groups;
  const Clock* clock = &SystemClock::instance();
  TimerService* timers = nullptr;
  DeadLetterOutput* dead_letters = nullptr;
  int64_t watermark = kMinTime;  // current input watermark
  // Sources that read bytes add them here (once per poll, relaxed): segflow_source_bytes_in.
  std::atomic<uint64_t>* bytes_in = nullptr;
  bool checkpointing = false;  // the job takes checkpoints: sinks stage output until commit
  bool restoring = false;      // restore() follows open(): keep existing output
  // Where the operator publishes its own metrics (engine/operator_metrics.h): the runtime
  // shares the job's registry, which the metrics endpoint exports; tests get a private one.
  std::shared_ptr<MetricRegistry> metric_registry = std::make_shared<MetricRegistry>();
  KeyedStateStore* state_store = nullptr;  // the rocksdb backend's store; null: heap

  KeyedStateScope state_scope() const { return {key_groups, max_parallelism, clock, state_store}; }
  // This subtask's view of the registry: series labelled with operator_id and subtask.
  OperatorMetrics metrics() const { return {*metric_registry, operator_id, subtask}; }
};

class Operator {
 public:
  virtual ~Operator() = default;
  virtual void open(OperatorContext& ctx) { ctx_ = &ctx; }
  virtual void process(const Batch& in, Output& out) = 0;
  virtual void on_timer(const Timer& /*timer*/, Output& /*out*/) {}
  virtual void on_watermark(int64_t /*watermark*/, Output& /*out*/) {}
  virtual void snapshot(StateWriter& /*w*/) const {}
  virtual DeferredSnapshot snapshot_async(StateWriter& w) {
    snapshot(w);
    return {};
  }
  virtual void restore(StateReader& /*r*/) {}
  virtual void prepare_snapshot(int64_t /*checkpoint_id*/) {}
  virtual void on_checkpoint_complete(int64_t /*checkpoint_id*/) {}
  virtual void close(Output& /*out*/) {}

  virtual bool merges_profiles() const { return false; }
  virtual void export_profile(std::string_view /*merged*/, int64_t /*time*/, StateWriter& /*w*/,
                              Output& /*out*/) {}
  virtual void import_profile(std::string_view /*survivor*/, std::string_view /*merged*/,
                              int64_t /*time*/, StateReader& /*r*/, Output& /*out*/) {}

 protected:
  OperatorContext& ctx() { return *ctx_; }
  const OperatorContext& ctx() const { return *ctx_; }

 private:
  OperatorContext* ctx_ = nullptr;
};

enum class SourceStatus {
  kMore,  // emitted records (or will have more soon)
  kIdle,  // nothing available now; poll again later
  kEnd,   // exhausted: no more records ever
};

// A source subtask: produces records. Event time is whatever the source puts on its
// records; the runtime derives watermarks from them (bounded out-of-orderness).
class Source {
 public:
  virtual ~Source() = default;
  virtual void open(OperatorContext& ctx) { ctx_ = &ctx; }
  // Emits up to about one batch of records to `out`.
  virtual SourceStatus poll(Output& out) = 0;
  // A source that tracks event time per input (Kafka: per partition) returns here the event
  // time all its active inputs have reached: the minimum over them of each one's largest
  // event time (kMinTime: not known yet). The runtime then derives the watermark from it,
  // minus the out-of-orderness, instead of from the largest event time emitted (nullopt,
  // the default).
  virtual std::optional<int64_t> event_time_reached() const { return std::nullopt; }
  // At barrier `checkpoint_id`, just before snapshot (which follows at once).
  virtual void prepare_snapshot(int64_t /*checkpoint_id*/) {}
  virtual void snapshot(StateWriter& /*w*/) const {}
  virtual void restore(StateReader& /*r*/) {}
  // true: restore() runs once for every old subtask's snapshot, at any parallelism (a
  // source whose positions are not tied to a subtask, as Kafka's per partition); false:
  // only for the subtask's own snapshot, and the parallelism must not change.
  virtual bool restores_every_snapshot() const { return false; }
  virtual void on_checkpoint_complete(int64_t /*checkpoint_id*/) {}
  virtual void close() {}

 protected:
  OperatorContext& ctx() { return *ctx_; }

 private:
  OperatorContext* ctx_ = nullptr;
};

}  // namespace segflow

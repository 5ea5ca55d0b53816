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
//   restore
//   close       once at end of stream, after the final watermark (kMaxTime); may emit.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/batch.h"
#include "engine/clock.h"
#include "engine/dead_letter.h"
#include "engine/key_group.h"
#include "engine/keyed_state.h"
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

  KeyedStateScope state_scope() const { return {key_groups, max_parallelism, clock}; }
};

class Operator {
 public:
  virtual ~Operator() = default;
  virtual void open(OperatorContext& ctx) { ctx_ = &ctx; }
  virtual void process(const Batch& in, Output& out) = 0;
  virtual void on_timer(const Timer& /*timer*/, Output& /*out*/) {}
  virtual void on_watermark(int64_t /*watermark*/, Output& /*out*/) {}
  virtual void snapshot(StateWriter& /*w*/) const {}
  virtual void restore(StateReader& /*r*/) {}
  virtual void close(Output& /*out*/) {}

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
  virtual void snapshot(StateWriter& /*w*/) const {}
  virtual void restore(StateReader& /*r*/) {}
  virtual void close() {}

 protected:
  OperatorContext& ctx() { return *ctx_; }

 private:
  OperatorContext* ctx_ = nullptr;
};

}  // namespace segflow

// OperatorHarness: runs one Operator instance on the test's thread, driving it exactly as the
// runtime does (engine/operator.h): batches, watermarks (due event-time timers first, then
// on_watermark), a manual processing-time clock, end of input, snapshot -> new instance ->
// restore. Emitted records are collected as plain comparable values.
// Thread safety: none; one harness per test thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "engine/operator.h"

namespace segflow::testing {

// A property value of an input record: null, bool, integer, double or string.
using TestValue = std::variant<std::nullptr_t, bool, int64_t, double, std::string>;

// An input record, e.g. {"u1", 1000, "Order Completed", {{"total", 12.5}}}.
struct InputRecord {
  std::string key;
  int64_t time = 0;
  std::string event;
  std::vector<std::pair<std::string, TestValue>> properties = {};
  EventKind kind = EventKind::kTrack;
};

// An emitted record. Property values are rendered as JSON text: strings quoted, numbers,
// true/false, null; in the order the operator set them.
struct OutputRecord {
  EventKind kind = EventKind::kTrack;
  std::string key;
  int64_t time = 0;
  std::string event;
  std::vector<std::pair<std::string, std::string>> properties;
  // The ingest stamp of the batch it was emitted in (engine/ingest_time.h); not compared.
  int64_t ingest_ns = kNoIngestTime;

  bool operator==(const OutputRecord& o) const {
    return kind == o.kind && key == o.key && time == o.time && event == o.event &&
           properties == o.properties;
  }
  // The rendered value of property `name`, or nullptr.
  const std::string* property(std::string_view name) const;
  // One line: `<kind> <key> @<time> <event> name=value ...`, e.g.
  // `derived u1 @3000 entered segment="vip" count=3`.
  std::string str() const;
};
std::ostream& operator<<(std::ostream& os, const OutputRecord& r);
// A property value rendered as OutputRecord holds it (JSON text).
std::string render_value(const Value& v);

struct HarnessOptions {
  std::string operator_id = "op";
  uint32_t subtask = 0;
  uint32_t parallelism = 1;
  uint32_t max_parallelism = 128;
  int64_t start_processing_time = 0;  // initial ManualClock reading (ms)
  size_t output_batch_size = 64;
  std::string dead_letter_path;  // "" keeps counts only (see DeadLetterOutput)
  // Throw std::logic_error when process/on_timer/on_watermark emit a record at or below the
  // watermark already forwarded downstream (it would be late there). Records emitted by
  // close() are not checked.
  bool reject_late_output = true;
};

class OperatorHarness {
 public:
  // Builds the context (key groups from KeyGroupRange::for_subtask, a ManualClock, a
  // TimerService, a DeadLetterOutput) and opens `op`.
  explicit OperatorHarness(std::unique_ptr<Operator> op, HarnessOptions options = {});
  ~OperatorHarness();
  OperatorHarness(const OperatorHarness&) = delete;
  OperatorHarness& operator=(const OperatorHarness&) = delete;

  // Calls op.process with one batch holding `records`. Throws std::invalid_argument if a
  // key belongs to a key group this subtask does not own.
  void process(const std::vector<InputRecord>& records);
  // Calls op.process with `batch` as is (no key-group check).
  void process_batch(const Batch& batch);
  // Advances the watermark to `watermark`: sets ctx.watermark, fires the due event-time
  // timers in time order, then calls on_watermark. No-op if it does not advance; throws
  // std::invalid_argument if it goes back.
  void watermark(int64_t watermark);
  // Moves the ManualClock and fires the due processing-time timers in time order.
  void advance_processing_time(int64_t ms);
  void set_processing_time(int64_t now_ms);
  // watermark(kMaxTime), then close. Nothing may be called afterwards but the accessors.
  void end_of_input();

  // The operator's snapshot plus the timer service, as one string.
  std::string snapshot() const;
  // Restores a snapshot() of another instance (possibly of another subtask or parallelism:
  // call once per old subtask; timers of key groups not owned here are dropped, as the
  // operator's keyed state drops them). REQUIRES: nothing processed yet. The watermark is
  // not part of a snapshot: it starts again from kMinTime, as after a real restart.
  void restore(std::string_view snapshot);

  // Records emitted so far (since the last take/clear), in emission order.
  const std::vector<OutputRecord>& output() const { return output_; }
  std::vector<OutputRecord> take_output();
  // take_output() rendered with OutputRecord::str().
  std::vector<std::string> take_output_lines();
  void clear_output() { output_.clear(); }

  bool owns_key(std::string_view key) const;
  int64_t current_watermark() const { return ctx_.watermark; }
  OperatorContext& context() { return ctx_; }
  TimerService& timers() { return timers_; }
  ManualClock& clock() { return clock_; }
  DeadLetterOutput& dead_letters() { return *dead_letters_; }
  Operator& op() { return *op_; }
  template <class T>
  T& op_as() {
    return dynamic_cast<T&>(*op_);
  }

 private:
  enum class Phase { kFresh, kRunning, kClosed };
  // Throws std::logic_error once the operator is closed.
  void require_open(const char* call) const;
  // Flushes the output and checks the records output_[first, end) the call emitted.
  void finish_call(size_t first, bool closing);
  void collect(const Batch& batch);

  HarnessOptions options_;
  std::unique_ptr<Operator> op_;
  ManualClock clock_;
  TimerService timers_;
  std::unique_ptr<DeadLetterOutput> dead_letters_;
  OperatorContext ctx_;
  std::unique_ptr<Output> out_;
  std::vector<OutputRecord> output_;
  int64_t forwarded_watermark_ = kMinTime;  // what downstream has seen
  Phase phase_ = Phase::kFresh;
};

}  // namespace segflow::testing

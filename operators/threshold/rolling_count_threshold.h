// RollingCountThreshold (`type: rolling_count_threshold`): per profile, counts the events of
// `events` in the last `window` of event time and emits a derived `entered` record when the
// count rises above `threshold`, `exited` when it falls back, even when no further event
// arrives. Keyed. Thread safety: one instance per subtask, driven by its thread (operator.h).
//
// Semantics, exact in event time and independent of arrival order and parallelism:
// - count(T) = number of matching events e of the profile with T - window < e.time <= T: an
//   event counts from its own time until, excluded, its time + window.
// - The profile is inside while count(T) > threshold. `entered` is emitted at the time of the
//   event that takes the count above the threshold; `exited` at the time the count falls to
//   the threshold or below, i.e. when its oldest counted event ages out (t_oldest + window).
//   Changes at the same instant are netted first: an event arriving exactly when another
//   ages out changes nothing.
// - Output record: kind derived, key = profile, event_time = that time, event "entered" or
//   "exited", properties `segment` (string: `segment:`, default the operator id) and `count`
//   (int: count at that time).
// - Matching events are buffered per profile and applied when the watermark reaches their
//   time, in time order, so a profile's records come out in time order, emitted when the
//   watermark passes their time (never late downstream). End of input (watermark kMaxTime)
//   exits every profile still inside, at its exact exit time.
// - A matching event with time <= the watermark is late: it is not counted; it is counted in
//   late_events() and sent to the dead-letter output with reason "late event". Events not in
//   `events` are ignored without any check.
//
// - Identity merges (engine/profile_merge.h): export_profile hands over the merged-away
//   profile's buffered and counted events and drops its state, emitting `exited`
//   for it if it was inside; import_profile re-inserts those events into the survivor's
//   state as this subtask's watermark classifies them (aged out: dropped; at or below the
//   watermark: counted; above: buffered, applied at their time) and emits `entered` if the
//   merged count is above the threshold. Both emit at max(link time, watermark + 1).
//
// Config: `events` (optional list of event names; absent: every event counts), `window`
// (duration > 0, required), `threshold` (integer >= 0, required), `segment` (optional name).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config_node.h"
#include "engine/due_queue.h"
#include "engine/late_event.h"
#include "engine/operator.h"
#include "operators/threshold/time_queue.h"

namespace segflow {

class RollingCountThreshold final : public Operator {
 public:
  static constexpr bool kKeyed = true;
  static constexpr std::string_view kLateReason = kLateEventReason;

  struct Config {
    std::vector<SymbolId> events;  // empty: every event matches
    int64_t window_ms = 0;
    int64_t threshold = 0;
    std::string segment;  // empty: the operator id
    static Config parse(const ConfigNode& node);
  };

  explicit RollingCountThreshold(const Config& config);

  void open(OperatorContext& ctx) override;
  void process(const Batch& in, Output& out) override;
  // Only timers restored from checkpoints of earlier versions (one per profile, tag 0) come
  // here: restore() queued their profiles already, so they change nothing.
  void on_timer(const Timer& timer, Output& out) override;
  // Applies every profile's events and expiries up to the watermark.
  void on_watermark(int64_t watermark, Output& out) override;
  // Format: version, watermark floor, keyed state. The operator registers no engine timers:
  // when each profile is due is derived from its state (rebuilt on restore).
  void snapshot(StateWriter& w) const override;
  // The same bytes; the keyed state is written after the barrier (copy-on-write).
  DeferredSnapshot snapshot_async(StateWriter& w) override;
  void restore(StateReader& r) override;
  bool merges_profiles() const override { return true; }
  void export_profile(std::string_view merged, int64_t time, StateWriter& w, Output& out) override;
  void import_profile(std::string_view survivor, std::string_view merged, int64_t time,
                      StateReader& r, Output& out) override;

  uint64_t late_events() const { return late_events_; }
  // Profiles with state (buffered or counted events).
  size_t tracked_profiles() const { return state_ ? state_->size() : 0; }
  // (time, profile) pairs queued, stale ones included.
  size_t scheduled_pairs() const { return applies_.size() + expiries_.size(); }

 private:
  struct ProfileState {
    TimeQueue buffered;  // matching events above the watermark, not yet applied
    TimeQueue counted;   // applied events still in the window
    bool inside = false;
    bool empty() const { return buffered.empty() && counted.empty(); }
    void write(StateWriter& w) const;
    static ProfileState read(StateReader& r);
  };
  // When a profile next changes: its earliest buffered event and its oldest counted event's
  // expiry (kMinTime: none).
  struct Scheduled {
    int64_t apply = kMinTime;
    int64_t expiry = kMinTime;
  };

  bool matches(SymbolId event) const;
  int64_t effective_watermark() const;
  int64_t expiry_of(int64_t event_time) const;
  Scheduled scheduled(const ProfileState& s) const;
  // The earlier of the two (kMinTime: the profile is empty).
  static int64_t due(Scheduled s);
  // Applies the profile's buffered events and expiries up to `until`, in time order,
  // emitting entered/exited as the count crosses the threshold.
  void advance(std::string_view key, ProfileState& s, int64_t until, Output& out);
  // Queues the times of `now` that differ from `was` (a pair per change, see applies_, expiries_).
  void schedule(std::string_view key, Scheduled was, Scheduled now);
  // Advances every profile due at or before `until`, instant by instant and, within an
  // instant, in key order (the order does not depend on arrival order): each to `until`.
  void advance_due(int64_t until, Output& out);
  // The earliest queued time (kMinTime: none).
  int64_t next_instant() const;
  // Drops the stale pairs once they are about as many as the live ones: every profile queued
  // again, from its state.
  void reschedule_if_stale();
  void reschedule_all();
  void emit(std::string_view key, int64_t time, SymbolId event, size_t count, Output& out);
  void reject_late(const Record& r);

  const Config& config_;
  SymbolId entered_;
  SymbolId exited_;
  SymbolId segment_property_;
  SymbolId count_property_;
  std::string segment_;
  std::string origin_;  // dead-letter origin: "<operator id>#<subtask>"
  std::unique_ptr<ValueState<ProfileState>> state_;
  // Every profile at its earliest buffered event and at its oldest counted event's expiry,
  // plus stale pairs (due_queue.h), skipped when they come up: the operator's own index of
  // when each profile is due, instead of an engine timer per profile. Derived from the state,
  // so not part of the snapshot. Two queues, as a profile's expiry does not move when an event
  // arrives.
  DueQueue applies_, expiries_;
  size_t reschedule_at_ = 1024;  // queued pairs at which the stale ones are dropped
  // Working space of advance_due(): the pairs due, their keys in due_keys_.
  struct DueKey {
    int64_t time;
    size_t offset;
    size_t size;
  };
  std::string_view key_of(const DueKey& d) const { return {due_keys_.data() + d.offset, d.size}; }
  std::string due_keys_;
  std::vector<DueKey> due_;
  // The highest watermark seen, also across a restore: events at or below it stay late even
  // if the runtime restarts watermarks from kMinTime, so applied windows never go back.
  int64_t watermark_floor_ = kMinTime;
  uint64_t late_events_ = 0;
};

}  // namespace segflow

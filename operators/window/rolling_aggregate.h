// RollingAggregate (`type: rolling`): per profile, computed traits over the last `window` of
// event time (e.g. views in the last 10 minutes), re-emitted whenever a value changes: when
// an event enters and when one ages out, by timer, with no further event needed. Keyed.
// Thread safety: one instance per subtask, driven by its thread (engine/operator.h).
//
// Semantics, exact in event time and independent of arrival order and parallelism (as
// rolling_count_threshold):
// - value(T) = the aggregate over the profile's matching events e with T - window < e.time
//   <= T: an event counts from its own time until, excluded, its time + window.
// - An event matches when it passes the operator's `events`/`where` (event_filter.h); a
//   trait with its own `events`/`where` takes only the matching events that also pass it.
// - Traits: count (events; with `property`: events where it is numeric), sum, min, max, avg
//   over the numeric values of `property` (others are ignored; no value: null); first/last
//   (the non-null value of the earliest/latest event; ties in time: arrival order);
//   count_distinct (non-null values, exact: numbers by value, strings by bytes; no sketch,
//   as values leave the window).
// - Matching events are buffered per profile and applied when the watermark reaches their
//   time, in time order. At every instant T where an event enters or ages out, the changes
//   at T are netted, and if any trait's value differs from its value just before T, one
//   trait-change record is emitted: kind derived, key = profile, event_time = T, event =
//   `name` (default: the operator id), properties: each trait under `prefix` + its name
//   (count, count_distinct: int; sum/min/max/avg: double or null; first/last: the value).
//   A profile whose last event aged out emits its zero/null values once and is dropped.
// - Late events: a matching event with time <= the watermark. Within `allowed_lateness`
//   (time > watermark - allowed_lateness) it is applied at once and, if the values now differ,
//   they are re-emitted with event_time = watermark + 1 (as `window`'s late firing); later
//   than that it is not counted, is counted in late_events() and goes to the dead-letter
//   output with reason "late event".
// - `forward: true` (computed traits): every input event also passes through, with the
//   profile's values at the event's time added as properties (`prefix` + name; `prefix`
//   defaults to "computed." then): value(event time), this event and every other at that
//   time included. So an event is held until the watermark reaches its time, then emitted
//   after the trait-change record of that instant (same values, same time). An event
//   already at or behind the watermark passes at once with the current values. Downstream
//   operators read them (a filter's `where`, a sink, `segments` as profile properties:
//   README "Computed traits").
// - Identity merges (engine/profile_merge.h): export_profile hands over the merged-away
//   profile's events and drops it, emitting its zero/null values once if it had applied
//   events; import_profile inserts those events into the survivor's (aged out at this
//   subtask's watermark: dropped; at or below it: in the window; above: buffered) and emits
//   the survivor's values if they changed. Both emit at max(link time, watermark + 1).
// Config: `window` (duration > 0), `traits: [{name, fn, property?, events?, where?}]`,
// optional `events`, `where`, `allowed_lateness` (default 0), `forward` (default false),
// `prefix`, `name`.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config_node.h"
#include "engine/due_queue.h"
#include "engine/late_event.h"
#include "engine/operator.h"
#include "operators/window/accumulator.h"
#include "operators/window/event_filter.h"
#include "operators/window/rolling_events.h"

namespace segflow {

class RollingAggregate final : public Operator {
 public:
  static constexpr bool kKeyed = true;
  static constexpr std::string_view kLateReason = kLateEventReason;

  struct Trait {
    std::string name;
    SymbolId output = kNoSymbol;  // prefix + name
    AggregateFn fn = AggregateFn::kCount;
    SymbolId property = kNoSymbol;
    // Index of `property` among Config::numeric_properties (count with a property, sum, min,
    // max, avg) or Config::raw_properties (first, last, count_distinct); -1: none.
    int slot = -1;
    EventFilter filter;
    int filter_bit = -1;  // bit in each event's mask (-1: the trait takes every matching event)
  };
  struct Config {
    int64_t window_ms = 0;
    int64_t allowed_lateness_ms = 0;
    std::vector<Trait> traits;
    std::vector<SymbolId> numeric_properties;  // one double per event each
    std::vector<SymbolId> raw_properties;      // one stored value per event each
    int filter_bits = 0;                       // traits with their own filter
    EventFilter filter;                        // which events the operator takes
    bool forward = false;
    std::string name;  // empty: the operator id
    static Config parse(const ConfigNode& node);
  };

  explicit RollingAggregate(const Config& config);

  void open(OperatorContext& ctx) override;
  void process(const Batch& in, Output& out) override;
  void on_timer(const Timer& timer, Output& out) override;
  void on_watermark(int64_t watermark, Output& out) override;
  // Format (version 3): version, watermark floor, keyed state (each profile as
  // RollingEvents::write), held events. Timers are rebuilt on restore.
  void snapshot(StateWriter& w) const override;
  // The same bytes; the keyed state is written after the barrier (copy-on-write).
  DeferredSnapshot snapshot_async(StateWriter& w) override;
  void restore(StateReader& r) override;
  bool merges_profiles() const override { return true; }
  void export_profile(std::string_view merged, int64_t time, StateWriter& w, Output& out) override;
  void import_profile(std::string_view survivor, std::string_view merged, int64_t time,
                      StateReader& r, Output& out) override;

  uint64_t late_events() const { return late_events_; }
  // Late events within allowed_lateness that were applied.
  uint64_t late_accepted() const { return late_accepted_; }
  size_t tracked_profiles() const { return state_ ? state_->size() : 0; }
  // Input events held for forwarding until the watermark reaches them.
  size_t held_events() const;

  // A profile's events, ascending time: the first `applied` are in the window (applied when
  // the watermark reached them), the rest are buffered above the watermark. Encoded in one
  // heap block (rolling_events.h): 5 traits over one price cost a few bytes per event.
  using Profile = RollingEvents;
  // The traits' values, in config order.
  using Values = std::vector<StoredValue>;

  // An input event held for forwarding (`forward: true`), owning its strings.
  struct HeldRecord {
    EventKind kind = EventKind::kTrack;
    std::string key;
    SymbolId event = kNoSymbol;
    std::vector<std::pair<SymbolId, StoredValue>> properties;
    // Symbols are written by name, so another process can restore them.
    void write(StateWriter& w) const;
    static HeldRecord read(StateReader& r);
  };

 private:
  // Count, sum, min and max of one numeric property over some events, in time order.
  struct NumberStats {
    double count = 0, sum = 0, lo = 0, hi = 0;
    void add(double v) {
      lo = count == 0 ? v : std::min(lo, v);
      hi = count == 0 ? v : std::max(hi, v);
      sum += v;
      ++count;
    }
  };
  // The count and numeric traits over events added in time order: per property for the
  // traits without a filter (shared_slots_), per trait for the others (own_stats).
  struct Running {
    std::vector<NumberStats> slots;
    std::vector<NumberStats> traits;
  };
  // `p` decoded into `out`; throws StateFormatError when it does not decode (only state
  // restored from a differently configured operator can fail: it is checked on restore).
  void load(const Profile& p, EventList& out) const;
  // One event of the record `r` (its strings view the batch) into `out`.
  void event_of(const Batch& in, const Record& r, EventList& out) const;

  int64_t effective_watermark() const;
  // The time of the first buffered event of `ev` (kMinTime: none).
  static int64_t first_buffered(const EventList& ev);
  // When the oldest applied event of `ev` ages out (kMinTime: none).
  int64_t expiry(const EventList& ev) const;
  // When an event at `first` ages out.
  int64_t expiry_of(int64_t first) const;
  // When the profile holding `ev` next changes: the earlier of the two (kMinTime: never).
  int64_t due(const EventList& ev) const;
  // Applies the instants of `ev` up to `until`, emitting each change; the number of events
  // that aged out (dropped from the front).
  size_t advance(std::string_view key, EventList& ev, int64_t until, Output& out);
  // The values over events [begin, end) of `ev`.
  void values(const EventList& ev, size_t begin, size_t end, Values& out) const;
  // A count without a property, or a filtered numeric trait: kept in Running::traits.
  static bool own_stats(const Trait& t);
  // Adds events [begin, end) of `ev`, later than those added before, to `running`.
  void add(Running& running, const EventList& ev, size_t begin, size_t end) const;
  // Adds events [begin, end) of `ev` to `stats`, trait `t`'s own (own_stats).
  void add_range(NumberStats& stats, const Trait& t, const EventList& ev, size_t begin,
                 size_t end) const;
  // Adds events [0, before_end) of `ev` to `before` and [after_begin, end) to `after`, in one
  // pass over the shared properties: the values before and after an instant at which the
  // oldest events age out. Both start empty.
  void add_split(Running& before, size_t before_end, Running& after, size_t after_begin,
                 const EventList& ev, size_t end) const;
  // The values of `running`, the events [begin, end) of `ev` added.
  void result(const Running& running, const EventList& ev, size_t begin, size_t end,
              Values& out) const;
  Values values(const EventList& ev) const;
  // value(t) from the events `ev` holds; right while none in (t - window, t] was dropped.
  Values values_at(const EventList& ev, int64_t t) const;
  Values current_values(std::string_view key);
  // The times a profile is scheduled at, before a change.
  struct Scheduled {
    int64_t first_buffered;
    int64_t expiry;
  };
  Scheduled scheduled(const EventList& ev) const { return {first_buffered(ev), expiry(ev)}; }
  // Writes `ev` back into `key`'s profile `p` (erasing it when empty) and schedules the
  // times of `ev` that differ from `was`, those of `p` before the change.
  void store(std::string_view key, Profile& p, const EventList& ev, Scheduled was);
  // Schedules the times `now` of `key`'s profile that differ from `was`.
  void schedule(std::string_view key, Scheduled now, Scheduled was);
  // Registers the engine timer at the earliest scheduled time or held event, if not yet.
  void ensure_wakeup();
  // The earliest scheduled time or held event (kMinTime: none).
  int64_t next_instant() const;
  // Drops the stale pairs of arrivals_ and expiries_: every profile scheduled again.
  void reschedule_all();
  void emit_held(const HeldRecord& h, int64_t time, const Values& values, Output& out);
  RecordBuilder& set_values(RecordBuilder& b, const Values& values) const;
  void emit_values(std::string_view key, int64_t time, const Values& values, Output& out);
  void forward(const Batch& in, const Record& r, Output& out);
  // Inserts the events of `incoming` into `key`'s profile at watermark `wm` (aged out:
  // dropped; at or below it: applied) and emits the values at `time` if they changed.
  void insert_applied(std::string_view key, const EventList& incoming, int64_t time, Output& out);
  void reject_late(const Record& r);

  const Config& config_;
  SymbolId name_ = kNoSymbol;
  std::string origin_;
  const RollingLayout layout_;
  std::unique_ptr<ValueState<Profile>> state_;
  // Every profile at the time of its first buffered event, and at its oldest applied
  // event's expiry; plus stale pairs (due_queue.h). Two queues, as pairs of the first kind
  // live until the watermark passes (the out-of-orderness bound) and of the second a
  // whole window: an event arriving does not leave a stale expiry behind.
  DueQueue arrivals_, expiries_;
  // When the queues hold this many pairs, the stale ones are dropped.
  size_t reschedule_at_ = 1024;
  int64_t wakeup_ = kMinTime;                        // the engine timer registered (kMinTime: none)
  std::map<int64_t, std::vector<HeldRecord>> held_;  // by event time
  // Working space, kept to reuse its allocations.
  EventList events_, incoming_;
  std::string encoded_;
  RollingEvents::AppendScratch append_scratch_;
  Values before_, after_;
  mutable Running running_;  // of after_ in advance(), and within values()
  Running running_before_;   // of before_, in advance()'s add_split()
  std::vector<bool> shared_slots_;
  int64_t watermark_floor_ = kMinTime;
  uint64_t late_events_ = 0;
  uint64_t late_accepted_ = 0;
};

}  // namespace segflow

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

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config_node.h"
#include "engine/late_event.h"
#include "engine/operator.h"
#include "operators/window/accumulator.h"
#include "operators/window/event_filter.h"

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
    int filter_bit = -1;  // bit in Profile::masks (-1: the trait takes every matching event)
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
  // Format: version, watermark floor, keyed state, held events. Timers are rebuilt on restore.
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
  // the watermark reached them), the rest are buffered above the watermark. One row of
  // 1 + numeric_properties int64 per event (time, then each value as a double's bits; NaN:
  // none) in one allocation, so 5 numeric traits of one property cost 16 bytes per event.
  // Only configs with first/last/count_distinct or per-trait filters use `extra`.
  struct Profile {
    struct Extra {
      std::vector<StoredValue> raws;  // events * raw_properties
      std::vector<uint32_t> masks;    // one per event when Config::filter_bits > 0
    };
    std::vector<int64_t> rows;
    std::unique_ptr<Extra> extra;
    int64_t timer = kMinTime;  // the registered timer (kMinTime: none)
    uint32_t applied = 0;

    Profile() = default;
    Profile(const Profile& o) { *this = o; }
    Profile(Profile&&) noexcept = default;
    Profile& operator=(const Profile& o);
    Profile& operator=(Profile&&) noexcept = default;
    Extra& x() {
      if (!extra) extra = std::make_unique<Extra>();
      return *extra;
    }
    void write(StateWriter& w) const;
    static Profile read(StateReader& r);
  };
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
  size_t stride() const { return 1 + config_.numeric_properties.size(); }
  size_t events(const Profile& p) const { return p.rows.size() / stride(); }
  int64_t time_at(const Profile& p, size_t e) const { return p.rows[e * stride()]; }
  // Inserts event `e` of `from` after every event of `p` at or before its time.
  void insert_from(Profile& p, const Profile& from, size_t e) const;
  void erase_front(Profile& p, size_t n) const;
  bool consistent(const Profile& p) const;
  // `p` holding only the record `r`.
  Profile row_of(const Batch& in, const Record& r) const;

  int64_t effective_watermark() const;
  int64_t due(const Profile& p) const;
  void advance(std::string_view key, Profile& p, int64_t until, Output& out);
  // The values over events [begin, end) of `p`.
  Values values(const Profile& p, size_t begin, size_t end) const;
  Values values(const Profile& p) const { return values(p, 0, p.applied); }
  // value(t) from the events `p` holds; right while none in (t - window, t] was dropped.
  Values values_at(const Profile& p, int64_t t) const;
  size_t first_after(const Profile& p, int64_t t) const;
  // Has on_timer(t) called once, for the profiles due at t and the events held at t.
  void wake_at(int64_t t);
  void emit_held(const HeldRecord& h, int64_t time, const Values& values, Output& out);
  RecordBuilder& set_values(RecordBuilder& b, const Values& values) const;
  void emit_values(std::string_view key, int64_t time, const Values& values, Output& out);
  void forward(const Batch& in, const Record& r, Output& out);
  // Inserts the events of `incoming` into `key`'s profile at watermark `wm` (aged out:
  // dropped; at or below it: applied) and emits the values at `time` if they changed.
  void insert_applied(std::string_view key, const Profile& incoming, int64_t time, Output& out);
  void retime(std::string_view key, Profile& p);
  void reject_late(const Record& r);

  const Config& config_;
  SymbolId name_ = kNoSymbol;
  std::string origin_;
  std::unique_ptr<ValueState<Profile>> state_;
  std::map<int64_t, std::vector<std::string>> due_;  // as in WindowAggregate
  std::map<int64_t, std::vector<HeldRecord>> held_;  // by event time
  int64_t watermark_floor_ = kMinTime;
  uint64_t late_events_ = 0;
  uint64_t late_accepted_ = 0;
};

}  // namespace segflow

// RollingAggregate (`type: rolling`): per profile, computed traits over the last `window` of
// event time (e.g. views in the last 10 minutes), re-emitted whenever a value changes: when
// an event enters and when one ages out, by timer, with no further event needed. Keyed.
// Thread safety: one instance per subtask, driven by its thread (engine/operator.h).
//
// Semantics, exact in event time and independent of arrival order and parallelism (as
// rolling_count_threshold):
// - value(T) = the aggregate over the profile's matching events e with T - window < e.time
//   <= T: an event counts from its own time until, excluded, its time + window.
// - Traits: count (events; with `property`: events where it is numeric), sum, min, max,
//   avg over the numeric values of `property` (others are ignored; no value: null).
// - Matching events are buffered per profile and applied when the watermark reaches their
//   time, in time order. At every instant T where an event enters or ages out, the changes
//   at T are netted, and if any trait's value differs from its value just before T, one
//   record is emitted: kind derived, key = profile, event_time = T, event = `name`
//   (default: the operator id), properties: each trait under its name (count: int; others:
//   double or null). A profile whose last event aged out emits its zero/null values once
//   and is dropped.
// - A matching event with time <= the watermark is late: not counted, counted in
//   late_events() and sent to the dead-letter output with reason "late event".
// - Identity merges (engine/profile_merge.h): export_profile hands over the merged-away
//   profile's events and drops it, emitting its zero/null values once if it had applied
//   events; import_profile inserts those events into the survivor's (aged out at this
//   subtask's watermark: dropped; at or below it: in the window; above: buffered) and emits
//   the survivor's values if they changed. Both emit at max(link time, watermark + 1).
// Config: `window` (duration > 0), `traits: [{name, fn: count|sum|min|max|avg, property?}]`,
// optional `events` (names that count; absent: all), `name`.
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

namespace segflow {

class RollingAggregate final : public Operator {
 public:
  static constexpr bool kKeyed = true;
  static constexpr std::string_view kLateReason = kLateEventReason;

  struct Trait {
    std::string name;
    SymbolId name_symbol = kNoSymbol;
    AggregateFn fn = AggregateFn::kCount;
    SymbolId property = kNoSymbol;
    int slot = -1;  // index of `property` among Config::properties (-1: none)
  };
  struct Config {
    int64_t window_ms = 0;
    std::vector<Trait> traits;
    std::vector<SymbolId> properties;  // distinct properties of the traits: one value each
    std::vector<SymbolId> events;      // empty: every event
    std::string name;                  // empty: the operator id
    static Config parse(const ConfigNode& node);
  };

  explicit RollingAggregate(const Config& config);

  void open(OperatorContext& ctx) override;
  void process(const Batch& in, Output& out) override;
  void on_timer(const Timer& timer, Output& out) override;
  void on_watermark(int64_t watermark, Output& out) override;
  // Format: version, watermark floor, keyed state. Timers are rebuilt on restore.
  void snapshot(StateWriter& w) const override;
  void restore(StateReader& r) override;
  bool merges_profiles() const override { return true; }
  void export_profile(std::string_view merged, int64_t time, StateWriter& w, Output& out) override;
  void import_profile(std::string_view survivor, std::string_view merged, int64_t time,
                      StateReader& r, Output& out) override;

  uint64_t late_events() const { return late_events_; }
  size_t tracked_profiles() const { return state_ ? state_->size() : 0; }

  // A profile's events, ascending time: the first `applied` are in the window (applied
  // when the watermark reached them), the rest are buffered above the watermark. One value
  // per distinct property per event (NaN: none), so 5 traits of one property store 16
  // bytes per event.
  struct Profile {
    std::vector<int64_t> times;
    std::vector<double> values;  // times.size() * properties.size()
    uint32_t applied = 0;
    int64_t timer = kMinTime;  // the registered timer (kMinTime: none)
    void write(StateWriter& w) const;
    static Profile read(StateReader& r);
  };

 private:
  bool matches(SymbolId event) const;
  int64_t effective_watermark() const;
  int64_t due(const Profile& p) const;
  void advance(std::string_view key, Profile& p, int64_t until, Output& out);
  std::vector<double> trait_values(const Profile& p) const;
  void emit_values(std::string_view key, int64_t time, const std::vector<double>& values,
                   Output& out);
  void retime(std::string_view key, Profile& p);
  void reject_late(const Record& r);

  const Config& config_;
  SymbolId name_ = kNoSymbol;
  std::string origin_;
  std::unique_ptr<ValueState<Profile>> state_;
  std::map<int64_t, std::vector<std::string>> due_;  // as in WindowAggregate
  int64_t watermark_floor_ = kMinTime;
  uint64_t late_events_ = 0;
};

}  // namespace segflow

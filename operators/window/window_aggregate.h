// WindowAggregate (`type: window`): per profile, aggregates events over event-time windows
// (tumbling, sliding, session) and emits one derived record per window when the watermark
// passes its end. Keyed. Thread safety: one instance per subtask, driven by its thread
// (engine/operator.h).
//
// Semantics (as Flink's event-time WindowOperator with the default EventTimeTrigger, except
// where noted):
// - Tumbling `size`: windows [k*size, (k+1)*size). Sliding `size`/`slide`: windows
//   [k*slide, k*slide + size). Session `gap`: an event at t opens [t, t+gap); windows that
//   overlap or touch merge (two events at most `gap` apart share a session, as Flink's
//   TimeWindow.intersects), so a session is [first, last + gap).
// - Sliding windows are not copied per event: each event updates one pane of
//   gcd(size, slide) ms, and a window's result is the merge of its panes when it fires
//   (from two cached partial merges when it spans 8 panes or more: window_state.h).
// - A window fires once when the watermark reaches end - 1, if it holds at least one event.
//   Output record: kind derived, key = profile, event_time = end - 1 (Flink's
//   maxTimestamp), event = `name` (default: the operator id), properties `window_start`,
//   `window_end` (int, ms, end exclusive) then each aggregate under its `name`, in order.
// - Aggregates: count (events; with `property`: events where it is present and not null),
//   sum, min, max, avg over numeric values (absent, null and string values are ignored, as
//   SQL ignores NULL; ints stay ints for sum/min/max, avg is a double), first/last (the
//   value at the earliest/latest event time; ties: earliest/latest arrival),
//   count_distinct (exact up to `exact_limit` values, then HyperLogLog: distinct_counter.h).
//   Empty aggregates (no value) are null, count and count_distinct are 0. An aggregate's
//   `events` and `where` (event_filter.h: a where expression, as in segment rules) limit it
//   to some of the window's events.
// - An event is late when every window it belongs to ended, i.e. end - 1 + allowed_lateness
//   <= watermark (for sessions: the session it would merge into has). A late event is not
//   counted; it is counted in late_events() and sent to the dead-letter output with reason
//   "late event". An event behind the watermark whose window has not fired is not late (as
//   Flink).
// - allowed_lateness > 0: windows keep their state until end - 1 + allowed_lateness; an
//   event arriving for a window that already fired updates it and fires it again at once
//   (as Flink's late firing). Difference: the re-fired record has event_time = watermark + 1
//   (Flink: end - 1), so it is not late downstream; window_start/window_end identify it.
// - End of input (watermark kMaxTime) fires every window still open.
// - Identity merges (engine/profile_merge.h): export_profile hands the merged-away profile's
//   panes/sessions over and drops them (nothing emitted: its windows continue as the
//   survivor's). import_profile merges them into the survivor's (accumulators merge; sessions
//   that now overlap or touch become one) and emits, at max(link time, watermark + 1), every
//   window of the survivor the merge changed that has already ended: one that fired before
//   and is within allowed lateness (re-fired with the merged result, as a late firing) or one
//   the merged-away profile had not fired yet. Windows still open fire as usual, merged.
//
// Config: `window: {kind: tumbling, size}` | `{kind: sliding, size, slide}` |
// `{kind: session, gap}`; `aggregates: [{name, fn, property?, exact_limit?, events?, where?}]`;
// optional `events` (event names that open windows; absent: all), `allowed_lateness`
// (duration, default 0), `name`. See README "Windows".
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
#include "operators/window/window_combiner.h"
#include "operators/window/window_config.h"
#include "operators/window/window_partial.h"
#include "operators/window/window_state.h"

namespace segflow {

class WindowAggregate final : public Operator {
 public:
  static constexpr bool kKeyed = true;
  static constexpr std::string_view kLateReason = kLateEventReason;
  // A partial record (combine: true) whose accumulators do not decode: dead-lettered.
  static constexpr std::string_view kMalformedPartialReason = "malformed window partial";
  using Config = WindowConfig;
  using Combiner = WindowCombiner;  // with `combine: true`

  explicit WindowAggregate(const Config& config);

  void open(OperatorContext& ctx) override;
  void process(const Batch& in, Output& out) override;
  void on_timer(const Timer& timer, Output& out) override;
  void on_watermark(int64_t watermark, Output& out) override;
  // Format: version, watermark floor, arrival counter, keyed state. Timers are rebuilt
  // from the keyed state on restore.
  void snapshot(StateWriter& w) const override;
  // The same bytes; the keyed state is written after the barrier (copy-on-write).
  DeferredSnapshot snapshot_async(StateWriter& w) override;
  void restore(StateReader& r) override;
  bool merges_profiles() const override { return true; }
  void export_profile(std::string_view merged, int64_t time, StateWriter& w, Output& out) override;
  void import_profile(std::string_view survivor, std::string_view merged, int64_t time,
                      StateReader& r, Output& out) override;

  uint64_t late_events() const { return late_events_; }
  uint64_t late_firings() const { return late_firings_; }
  uint64_t malformed_partials() const { return malformed_partials_; }
  // Profiles with window state.
  size_t tracked_profiles() const { return state_ ? state_->size() : 0; }

 private:
  bool matches(SymbolId event) const;
  int64_t effective_watermark() const;
  void add_values(Accumulators& accs, const Batch& in, const Record& r);
  // Gives a combiner's partial one arrival number of this operator (first/last ties).
  void rebase_arrival(Accumulators& accs);

  // Tumbling and sliding (panes): adds event `r`, or merges `partial` (a combiner's pane,
  // record `r` its partial record) when not null. Returns false when it is late.
  bool add_to_pane(KeyWindows& k, const Batch& in, const Record& r, const Accumulators* partial,
                   int64_t wm, Output& out);
  void fire_panes(std::string_view key, KeyWindows& k, int64_t wm, Output& out);
  int64_t pane_timer(const KeyWindows& k) const;
  // Window arithmetic without a division per event where it can: the pane of `t` (cached
  // for the last pane), the start of the last / first window holding a pane, the first window
  // start the watermark `wm` has not closed (cached per watermark), the index of k's first
  // pane at or after `from` in a window not fired yet.
  int64_t pane_of(int64_t t);
  int64_t slide_start(int64_t pane_start) const;
  int64_t first_window_start(int64_t pane_start) const;
  int64_t first_open_start(int64_t wm);
  size_t first_live_pane(const KeyWindows& k, size_t from) const;
  void emit_window(std::string_view key, KeyWindows& k, int64_t start, int64_t time, Output& out);
  // Merges the panes in [start, end) into `into`.
  void merge_range(Accumulators& into, const KeyWindows& k, int64_t start, int64_t end) const;
  // The result of window [start, start + size), from the cache when it pays.
  Accumulators window_result(KeyWindows& k, int64_t start) const;
  // Sessions.
  bool add_to_session(std::string_view key, KeyWindows& k, const Batch& in, const Record& r,
                      int64_t wm, Output& out);
  void fire_sessions(std::string_view key, KeyWindows& k, int64_t wm, Output& out);
  int64_t session_timer(const KeyWindows& k) const;
  // Identity merges: fold `incoming` into `k`, emitting the ended windows it changed at `at`.
  void import_panes(std::string_view key, KeyWindows& k, const KeyWindows& incoming, int64_t wm,
                    int64_t at, Output& out);
  void import_sessions(std::string_view key, KeyWindows& k, KeyWindows& incoming, int64_t wm,
                       int64_t at, Output& out);
  void drop_expired_panes(KeyWindows& k, int64_t wm) const;

  void emit(std::string_view key, int64_t time, int64_t start, int64_t end,
            const Accumulators& accs, Output& out);
  // Registers k's next timer; retime also drops k's state when it is empty.
  void schedule(std::string_view key, KeyWindows& k);
  void retime(std::string_view key, KeyWindows& k);
  void fire_windows(std::string_view key, KeyWindows& k, Output& out);
  void reject_late(const Record& r);
  void reject_malformed_partial(const Record& r);

  const Config& config_;
  SymbolId name_;
  SymbolId window_start_;
  SymbolId window_end_;
  std::string origin_;
  std::unique_ptr<ValueState<KeyWindows>> state_;
  // Profiles by the time of their next timer. The timer service holds one timer per time
  // (key ""), not one per profile: aligned windows of all profiles end together, and a
  // set of a million per-profile timers would cost more than the windows. Entries whose
  // profile has since moved its timer (KeyWindows::timer differs) are skipped. Once a time
  // has many profiles (a sizeable part of the state), it keeps no list: its timer sweeps
  // the whole state, which costs less than a lookup per profile.
  struct Due {
    std::vector<std::string> keys;
    bool sweep = false;
  };
  void add_due(int64_t time, std::string_view key);
  std::map<int64_t, Due> due_;
  int64_t watermark_floor_ = kMinTime;
  uint64_t seq_ = 0;  // arrival counter (first/last ties)
  uint64_t late_events_ = 0;
  uint64_t late_firings_ = 0;
  // slide == pane (size is a multiple of slide: tumbling, most sliding windows).
  bool slide_is_pane_ = false;
  bool pane_cached_ = false;
  int64_t cached_pane_ = 0;
  int64_t cached_wm_ = kMinTime;
  int64_t cached_open_start_ = 0;
  WindowPartialCodec partials_;
  Accumulators partial_;  // the partial being merged
  uint64_t malformed_partials_ = 0;
};

}  // namespace segflow

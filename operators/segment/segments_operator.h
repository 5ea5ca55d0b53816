// SegmentsOperator (`type: segments`): keeps every profile's membership of many named
// segments true in event time and emits one record per change. Keyed by profile.
// Thread safety: one instance per subtask, driven by its thread (engine/operator.h).
//
// Semantics (README "Segment rules"):
// - Each segment's `enter` condition (and optional `exit`) is a function of the profile's
//   events with time <= T (see segment_rules.h for the leaf kinds). At every instant T where
//   an event of the profile happens or one of its leaf values changes by itself (an event
//   ages out of a window, an absence matures or ends, a recency threshold passes), the
//   segments whose leaves changed are evaluated: outside and `enter` true -> entered;
//   inside and `exit` true and `enter` false (no `exit`: `enter` false) -> exited.
//   Changes at the same instant are netted first. A profile exists from its first event
//   that any rule reads (any event, when a segment's `enter` holds for an empty history:
//   such a segment is entered then).
// - Output record: kind derived, key = profile, event_time = T, event "entered"/"exited",
//   properties: profile_id (the key), segment, change, rule_version, emitted_at (processing
//   time, ms), then each
//   leaf's value under its label (window: the aggregate; absence: the time of the `after`
//   event that matured or null; recency: ms since the last match or null; profile: bool).
// - Events are reduced to their effect on the leaves that read them (rules are indexed by
//   event name and profile property), buffered per profile, and applied when the watermark
//   passes their time, in time order: output is independent of arrival order within the
//   watermark bound, and never late downstream. Events with time <= the watermark are late:
//   dead-lettered with reason "late event" and counted.
// - `cooldown`: after an exit, no re-entry before exit time + cooldown; if `enter` holds
//   then, the profile enters at that instant (by timer).
// - Timers: a profile has one instant pending, its next: a buffered event, or the first
//   instant at which a segment's membership may change with no event. That instant comes
//   from the leaves' own (leaf_eval.h next_change) through the condition tree: `all` false
//   waits for every false child, `any` true for every true one, the rest for the first child.
//   A count that is false and can only fall sets none. Entries that age out are dropped when
//   the profile is next evaluated; a profile that may then be left with nothing (no
//   properties, no membership) gets an instant when all its entries have aged out, and is
//   erased then. The operator keeps each profile's pending instant in its own queue
//   (profile_due_queue.h) and one engine timer at the earliest; profiles fire in the order
//   of (time, key), as per-profile engine timers would. Only instants before a horizon are
//   queued (the earliest quarter of the profiles' at the last scan of the state, and any nearer
//   one set since): a profile's far deadline, which every event of the profile moves, leaves no
//   stale pair behind. When the watermark reaches the horizon, the state is scanned again: a scan
//   of n profiles comes after at least a quarter of the instants pending at the previous one
//   have passed. Leaves keeping the same state share it
//   (segment_rules.h Leaf::state): a fed state is pruned and updated once, and every segment
//   reading it (all of its owner's SharedOutcome segments) is evaluated and its deadline
//   recomputed, whether or not its outcome changed (a fed sum can move its next change earlier).
// Config: `segments: [{name, version?, enter: <condition>, exit?: <condition>,
//   cooldown?: <duration>}]`,
// `emitted_at` (bool, default true: include the processing time).
// Metrics (per segment, label `segment`): segflow_segment_members (gauge),
// segflow_segment_entered_total, segflow_segment_exited_total. End-to-end latency: a change
// at an instant where buffered events were applied carries the earliest of their ingest
// stamps; a change at an instant with only deadlines (windows emptying, absences maturing,
// cool-downs ending, re-evaluation after a merge) has no ingest cause.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/config_node.h"
#include "engine/late_event.h"
#include "engine/operator.h"
#include "operators/segment/leaf_eval.h"
#include "operators/segment/profile_due_queue.h"
#include "operators/segment/profile_state.h"
#include "operators/segment/segment_rules.h"
#include "operators/segment/time_zone.h"

namespace segflow {

class SegmentsOperator final : public Operator {
 public:
  static constexpr bool kKeyed = true;
  static constexpr std::string_view kLateReason = kLateEventReason;

  struct Config {
    SegmentRules rules;
    bool emitted_at = true;
    static Config parse(const ConfigNode& node);
  };

  explicit SegmentsOperator(const Config& config);

  void open(OperatorContext& ctx) override;
  void process(const Batch& in, Output& out) override;
  void on_timer(const Timer& timer, Output& out) override;
  void on_watermark(int64_t watermark, Output& out) override;
  // Format: version, watermark floor, keyed state. Deadlines are rebuilt on restore.
  void snapshot(StateWriter& w) const override;
  // The same bytes; the keyed state is written after the barrier (copy-on-write).
  DeferredSnapshot snapshot_async(StateWriter& w) override;
  void restore(StateReader& r) override;

  // Identity merges (engine/operator.h, engine/profile_merge.h): the merged-away profile
  // exits every segment it is inside and hands over its whole state; the survivor folds it
  // in with merge_profile.
  bool merges_profiles() const override { return true; }
  void export_profile(std::string_view merged, int64_t time, StateWriter& w, Output& out) override;
  void import_profile(std::string_view survivor, std::string_view merged, int64_t time,
                      StateReader& r, Output& out) override;

  // Folds `other` (another profile's state, e.g. from an identity merge) into `key`'s state;
  // every segment is re-evaluated by timer at the first instant after the watermark, and
  // not before `not_before` (the time of the event that linked the profiles).
  void merge_profile(std::string_view key, const ProfileState& other, Output& out,
                     int64_t not_before = kMinTime);
  // The state of `key`, or nullptr (e.g. to hand it to another subtask on a merge).
  const ProfileState* profile(std::string_view key) { return state_->get(key); }
  // The segments `key` is inside now (names), for membership queries.
  std::vector<std::string> membership(std::string_view key);

  // Per segment (index of Config::rules.segments): entered / exited records emitted and
  // profiles inside now, for this subtask.
  struct SegmentCounts {
    uint64_t entered = 0;
    uint64_t exited = 0;
    int64_t members = 0;
  };
  const std::vector<SegmentCounts>& counts() const { return counts_; }
  uint64_t late_events() const { return late_events_; }
  size_t tracked_profiles() const { return state_ ? state_->size() : 0; }

 private:
  // The one engine timer (key ""), at due_'s earliest instant.
  static constexpr uint32_t kWakeupTag = 1;
  // With up to this many profiles' instants pending, every one is queued (no horizon).
  static constexpr size_t kQueuedAll = 4096;
  static constexpr size_t kSpareEvents = 4096;

  int64_t effective_watermark() const;
  // Reduces record `r` to its effects; false when no rule reads it.
  bool reduce(const Batch& in, const Record& r, PendingEvent& out) const;
  // Applies every instant of the profile up to `until`, emitting the changes.
  void advance(std::string_view key, ProfileState& s, int64_t until, Output& out);
  // Drops what aged out of every leaf of the profile by `now`, and the leaves left with
  // nothing (in one pass over its table); keeps ProfileState::cleanup_at.
  void prune_all(ProfileState& s, int64_t now);
  // prune_all()'s work on one leaf state: false when nothing is left of it (the caller
  // erases it).
  bool prune_in_place(ProfileState& s, LeafState& st, int64_t now) const;
  // Fills results_ and changes_ for the leaves of `segment` at `now` (pruning them first).
  void prepare(ProfileState& s, uint32_t segment, int64_t now);
  struct CachedOutcome;
  // The result and next change of leaf `id` at `now` (pruning its state first), computed
  // once per instant for all the leaves sharing its outcome.
  const CachedOutcome& outcome(ProfileState& s, uint32_t id, int64_t now);
  void evaluate(std::string_view key, ProfileState& s, uint32_t segment, int64_t now, Output& out);
  // Enters or exits the segment as `enter` and `exit` (the conditions' values at `now`)
  // decide; true when the membership changed.
  bool change_membership(ProfileState& s, uint32_t segment, int64_t now, bool enter, bool exit);
  // The change record of a segment whose membership just changed, with the values of its
  // leaves (results_).
  void emit_change(std::string_view key, const ProfileState& s, uint32_t segment, int64_t now,
                   Output& out);
  bool evaluate_node(const Segment& segment, uint32_t node) const;
  // After prepare(): an instant after `now` no later than the first at which the node's
  // value may change with no event (kMaxTime: none), from its leaves' changes_.
  int64_t node_change(const Segment& segment, uint32_t node) const;
  // After prepare(): keeps the segment's deadline (id: the segment) at the first instant its
  // membership may change with no event, given whether the profile is inside it now.
  void schedule_segment(ProfileState& s, uint32_t segment, int64_t now);
  // Keeps the segment's deadline at `at` (after `now`; kMaxTime: none).
  void set_deadline(ProfileState& s, uint32_t segment, int64_t at, int64_t now);
  static int64_t next_instant(const ProfileState& s);
  // Keeps the profile's pending instant (ProfileState::timer, in due_) at its next instant
  // (buffered event or deadline). ensure_wakeup() then moves the engine timer.
  void schedule(std::string_view key, ProfileState& s);
  // Fires the queued instants up to `until` (and those queued meanwhile), in (time, key)
  // order, scanning the state again whenever the horizon is reached.
  void fire_due(int64_t until, Output& out);
  // Fires the pair (time, key) of the profile with key hash `hash`, unless it is stale.
  void fire(std::string_view key, uint64_t hash, int64_t time, Output& out);
  // Keeps the engine timer at due_'s earliest live instant or the horizon; rebuilds due_
  // from the profiles' states when stale pairs pile up.
  void ensure_wakeup();
  // due_ anew, from a scan of the state: a new horizon (after `now`, the instant of the scan)
  // and every profile's pending instant before it.
  void reschedule_all(int64_t now);
  void rebuild_deadlines(ProfileState& s);
  // A deadline (id: segment count + segment) at the end of the segment's re-entry cool-down.
  void schedule_cooldown_end(ProfileState& s, uint32_t segment, int64_t exited_at);
  std::shared_ptr<const TimeZone> zone(std::string_view name);
  // Applied events are kept (up to kSpareEvents) and reused: their vectors keep their
  // capacity, so buffering an event allocates nothing in the steady state.
  PendingEvent take_spare_event();
  void recycle_event(PendingEvent&& e);

  // Appends to `segments` every segment reading the state of leaf `id`.
  void add_state_readers(uint32_t id, std::vector<uint32_t>& segments) const;
  // Counts a change of segment `index` in counts_ and the exported metrics.
  void count_change(uint32_t index, bool entered);

  const Config& config_;
  // segflow_segment_{entered,exited}_total and segflow_segment_members, per segment.
  struct SegmentMetrics {
    MetricCounter* entered;
    MetricCounter* exited;
    MetricGauge* members;
  };
  std::vector<SegmentMetrics> segment_metrics_;
  SymbolId entered_, exited_, profile_id_property_, segment_property_, change_property_,
      version_property_, emitted_at_property_;
  Value entered_value_ = Value::string("entered");
  Value exited_value_ = Value::string("exited");
  std::string origin_;
  std::unique_ptr<ValueState<ProfileState>> state_;
  // (ProfileState::timer, key) of every profile with an instant pending, and stale pairs of
  // instants since moved (skipped when popped).
  ProfileDueQueue due_;
  size_t reschedule_at_ = 1024;  // due_'s size at which it is rebuilt
  // Profiles' instants before it are in due_; the later ones only in their state.
  int64_t horizon_ = kMaxTime;
  int64_t wakeup_ = kMaxTime;  // the engine timer's time (kMaxTime: none)
  std::string due_key_;        // the key of the pair being fired
  // fire_due's pairs taken off due_ ahead of their turn (a ring), their lookups prefetched.
  struct DuePair {
    int64_t time = 0;
    uint64_t hash = 0;  // hash_key(key)
    std::string key;
  };
  std::vector<DuePair> ahead_;
  // process()'s events of one batch, reduced, before they are buffered (record: their index).
  struct IncomingEvent {
    uint32_t record;
    PendingEvent event;
  };
  std::vector<IncomingEvent> incoming_;
  int64_t watermark_floor_ = kMinTime;
  uint64_t late_events_ = 0;
  std::vector<SegmentCounts> counts_;
  boost::unordered_flat_map<std::string, std::shared_ptr<const TimeZone>, StringHash, StringEq>
      zones_;
  // Scratch of one evaluation, reused: leaf results by position in Segment::leaves.
  mutable std::vector<LeafResult> results_;
  // With results_: the leaves' next_change (kMaxTime when their outcome cannot change).
  std::vector<int64_t> changes_;
  struct CachedOutcome {
    uint64_t stamp = 0;
    LeafResult result;
    int64_t change = kMaxTime;
  };
  // What evaluating leaf `id` reads and writes of the operator's own, in one cache line:
  // routes_[id].decider, the leaf deciding its SharedOutcome; where the segments reading its
  // state (every segment of every SharedOutcome of its state's owner) are in readers_, each
  // evaluated when the state is fed or read anew; and, on a deciding leaf, its result and
  // next change at the instant being evaluated (valid while stamp == outcome_stamp_).
  struct alignas(64) LeafRoute {
    CachedOutcome outcome;
    uint32_t decider = 0;
    uint32_t readers_begin = 0;
    uint32_t readers_end = 0;
  };
  std::vector<LeafRoute> routes_;
  std::vector<uint32_t> readers_;
  // Per segment: when its condition is one leaf reading state (no exit), that leaf, whose
  // outcome decides it with no condition tree to walk; else kNoLeaf.
  static constexpr uint32_t kNoLeaf = UINT32_MAX;
  std::vector<uint32_t> single_leaf_;
  uint64_t outcome_stamp_ = 0;
  std::vector<uint32_t> segments_;
  std::vector<PendingEvent> spare_events_;
  // Outcome of each distinct `where` for the record being reduced (kUntested, 0, 1), and
  // the ones set, to reset for the next record.
  static constexpr int8_t kUntested = -1;
  mutable std::vector<int8_t> where_results_;
  mutable std::vector<uint32_t> where_tested_;
};

}  // namespace segflow

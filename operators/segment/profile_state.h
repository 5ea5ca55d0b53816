// ProfileState: everything the segments operator keeps for one profile: events buffered
// above the watermark (already reduced to what each leaf needs), the state of each leaf it
// has touched (window contents, pending `after` events, last matching time), its latest
// properties (traits, context), its segment memberships and the times at which a membership
// may change with no further event (deadlines).
// Mergeable: merge() folds another profile's state in (identity merges, rescaling).
// Thread safety: a plain value type.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/ingest_time.h"
#include "engine/record.h"
#include "engine/state_io.h"
#include "operators/segment/compact_string.h"
#include "operators/segment/compact_vector.h"
#include "operators/segment/leaf_table.h"

namespace segflow {

// A property value owned by the state (strings copied out of the batch arena), in 16 bytes.
struct OwnedValue {
  OwnedValue() : integer(0) {}
  OwnedValue(const OwnedValue& o);
  OwnedValue(OwnedValue&& o) noexcept;
  OwnedValue& operator=(const OwnedValue& o);
  OwnedValue& operator=(OwnedValue&& o) noexcept;
  ~OwnedValue();

  union {
    int64_t integer;       // kBool, kInt
    double real;           // kDouble
    CompactString string;  // kString
  };
  ValueType type = ValueType::kNull;

  static OwnedValue from(const Value& v);
  // A view valid while this OwnedValue is alive and unchanged.
  Value view() const;
  // A total order (type first), used to break ties between values of the same time.
  bool operator<(const OwnedValue& o) const;
  bool operator==(const OwnedValue& o) const;
  // Format: type, integer, real, string (each written, whatever the type).
  void write(StateWriter& w) const;
  static OwnedValue read(StateReader& r);
};

// What one buffered event contributes to one leaf.
struct LeafFeed {
  enum class Role : uint8_t { kMatch, kThen } role = Role::kMatch;  // kThen: absence's then_no
  uint32_t leaf = 0;
  double value = 0;  // window: the aggregated number (count: 1)
  bool operator==(const LeafFeed&) const = default;
};

// A profile property an event sets (time: the event's).
struct PropertyUpdate {
  SymbolId name = kNoSymbol;
  OwnedValue value;
};

// An event of the profile above the watermark, reduced to its effects.
struct PendingEvent {
  int64_t time = 0;
  int64_t ingest_ns = kNoIngestTime;  // its batch's ingest stamp; not in the snapshot
  std::vector<LeafFeed> feeds;
  std::vector<PropertyUpdate> updates;
  void write(StateWriter& w) const;
  static PendingEvent read(StateReader& r);
};

// When segment `id`'s membership may change with no event (from the segment count up: when
// segment id - count's re-entry cool-down ends).
struct Deadline {
  int64_t time = kMaxTime;
  uint32_t id = 0;
  auto operator<=>(const Deadline&) const = default;
};

// A profile property's latest value and the time of the event that set it, in 24 bytes: the
// name sits in the value's tail padding (a potentially-overlapping member).
struct ProfileProperty {
  [[no_unique_address]] OwnedValue value;
  SymbolId name = kNoSymbol;
  int64_t time = kMinTime;
};
static_assert(sizeof(ProfileProperty) == 24);

// What few profiles keep (cool-downs, merges), in one heap block behind ProfileState::rare_.
struct ProfileRare {
  // (segment, time of its last exit), for segments with a re-entry cool-down.
  CompactVector<std::pair<uint32_t, int64_t>> last_exits;
  int64_t evaluate_all_at = kMaxTime;  // after a merge: when to evaluate every segment
  bool unevaluated = false;            // see ProfileState::evaluated()
  bool empty() const { return last_exits.empty() && evaluate_all_at == kMaxTime && !unevaluated; }
};

// Laid out for size (88 bytes, plus a few hundred in blocks for a profile of the retail job):
// lists are CompactVectors (one pointer each, no block while empty), leaves a LeafTable, and
// what few profiles keep is in a block of its own (ProfileRare), absent while unused.
struct ProfileState {
  ProfileState() = default;
  ProfileState(const ProfileState& o);
  ProfileState(ProfileState&& o) noexcept = default;
  ProfileState& operator=(const ProfileState& o);
  ProfileState& operator=(ProfileState&& o) noexcept = default;
  ~ProfileState() = default;

  CompactVector<PendingEvent> buffered;  // ascending time
  LeafTable leaves;
  CompactVector<ProfileProperty> properties;
  CompactVector<uint32_t> inside;  // segment ids, ascending
  // (time, segment): when a membership may change with no new event, ascending. Derived from
  // `leaves` and `applied_until`; not part of the snapshot (rebuilt on restore and merge).
  CompactVector<Deadline> deadlines;
  int64_t last_event_time = kMinTime;
  int64_t applied_until = kMinTime;  // every instant up to here is applied
  int64_t timer = kMaxTime;          // the pending instant, queued in the operator (none)
  // When every leaf entry that ages out will have (the latest such time seen when pruning);
  // entries are dropped lazily, or then. kMinTime: none. Derived, like deadlines.
  int64_t cleanup_at = kMinTime;

  // Segments entering on an empty history were checked: at the profile's first instant
  // (until then applied_until is kMinTime), or after a merge with a profile never evaluated.
  bool evaluated() const { return applied_until != kMinTime && !(rare_ && rare_->unevaluated); }
  void set_evaluated(bool evaluated);
  // After a merge: when to evaluate every segment (kMaxTime: none).
  int64_t evaluate_all_at() const { return rare_ ? rare_->evaluate_all_at : kMaxTime; }
  void set_evaluate_all_at(int64_t time);
  // (segment, time of its last exit), for segments with a re-entry cool-down.
  const CompactVector<std::pair<uint32_t, int64_t>>& last_exits() const;

  // Inserts `e` after any buffered event of the same time.
  void buffer(PendingEvent e);
  LeafState* leaf(uint32_t id) { return leaves.find(id); }
  LeafState& leaf_or_create(uint32_t id) { return leaves.get_or_create(id); }
  void erase_leaf(uint32_t id) { leaves.erase(id); }
  void add_deadline(Deadline d);
  void remove_deadline(Deadline d);
  // Moves deadline `d` to `time` in place (no block allocated or freed); adds it if absent.
  void move_deadline(Deadline d, int64_t time);
  // The pending deadline of leaf `id` (kMaxTime: none).
  int64_t deadline_of(uint32_t id) const {
    for (const Deadline& d : deadlines)
      if (d.id == id) return d.time;
    return kMaxTime;
  }
  const ProfileProperty* property(SymbolId name) const;
  // Sets `name` to `value` unless the profile holds a newer value (later time, or the same
  // time and a greater value). True when it changed.
  bool update_property(SymbolId name, int64_t time, const OwnedValue& value);
  bool is_inside(uint32_t segment) const {
    return std::binary_search(inside.begin(), inside.end(), segment);
  }
  // kMinTime when the segment was never exited.
  int64_t last_exit(uint32_t segment) const;
  void set_last_exit(uint32_t segment, int64_t time);
  void set_inside(uint32_t segment, bool inside);
  bool empty() const {
    return buffered.empty() && leaves.empty() && properties.empty() && inside.empty() &&
           evaluate_all_at() == kMaxTime && deadlines.empty();
  }

  // Folds `other` in: buffered events and window entries are merged in time order, the
  // latest last-times and property values win, memberships stay this profile's (the
  // operator re-evaluates after a merge). Deadlines must be rebuilt afterwards.
  void merge(const ProfileState& other);

  // Symbols are written by name, so a snapshot can be restored by another process.
  void write(StateWriter& w) const;
  static ProfileState read(StateReader& r);

 private:
  ProfileRare& rare();
  // Frees the block once it holds nothing.
  void drop_rare_if_empty() {
    if (rare_ && rare_->empty()) rare_.reset();
  }
  std::unique_ptr<ProfileRare> rare_;
};
static_assert(sizeof(ProfileState) == 88);

}  // namespace segflow

// ProfileState: everything the segments operator keeps for one profile: events buffered
// above the watermark (already reduced to what each leaf needs), the state of each leaf it
// has touched (window contents, pending `after` events, last matching time), its latest
// properties (traits, context), its segment memberships and the times at which a leaf's
// value changes with no further event (deadlines).
// Mergeable: merge() folds another profile's state in (identity merges, rescaling).
// Thread safety: a plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/container/flat_set.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include "engine/ingest_time.h"
#include "engine/record.h"
#include "engine/state_io.h"

namespace segflow {

// A property value owned by the state (strings copied out of the batch arena).
struct OwnedValue {
  ValueType type = ValueType::kNull;
  int64_t integer = 0;  // kBool, kInt
  double real = 0;      // kDouble
  std::string string;   // kString

  static OwnedValue from(const Value& v);
  // A view valid while this OwnedValue is alive and unchanged.
  Value view() const;
  // A total order (type first), used to break ties between values of the same time.
  bool operator<(const OwnedValue& o) const;
  bool operator==(const OwnedValue& o) const = default;
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

// (time, value) pairs of a leaf, ascending. Most leaves of a profile hold one entry at a
// time: it is kept inline (no allocation per leaf).
using LeafEntries = boost::container::small_vector<std::pair<int64_t, double>, 1>;

// The state of one leaf for one profile.
struct LeafState {
  // window: (time, value) in the window, ascending; absence: `after` times not yet cancelled
  // or expired, ascending (value unused).
  LeafEntries entries;
  int64_t last = kMinTime;      // recency: last match; absence: last then_no event
  int64_t deadline = kMaxTime;  // its entry in ProfileState::deadlines; not in snapshots
  bool empty() const { return entries.empty() && last == kMinTime; }
  void write(StateWriter& w) const;
  static LeafState read(StateReader& r);
};

// When leaf (or, from the leaf count up, segment cool-down) `id` may change with no event.
// Trivially copyable: the sorted vector holding them moves them with memmove.
struct Deadline {
  int64_t time = kMaxTime;
  uint32_t id = 0;
  auto operator<=>(const Deadline&) const = default;
};

// A profile property's latest value and the time of the event that set it.
struct ProfileProperty {
  SymbolId name = kNoSymbol;
  int64_t time = kMinTime;
  OwnedValue value;
};

struct ProfileState {
  std::vector<PendingEvent> buffered;                     // ascending time
  boost::unordered_flat_map<uint32_t, LeafState> leaves;  // by leaf id
  std::vector<ProfileProperty> properties;
  std::vector<uint32_t> inside;  // segment ids, ascending
  int64_t last_event_time = kMinTime;
  // (segment, time of its last exit), for segments with a re-entry cool-down.
  std::vector<std::pair<uint32_t, int64_t>> last_exits;
  int64_t applied_until = kMinTime;    // every instant up to here is applied
  bool evaluated = false;              // segments entering on an empty history were checked
  int64_t timer = kMaxTime;            // the registered event-time timer (kMaxTime: none)
  int64_t evaluate_all_at = kMaxTime;  // after a merge: when to evaluate every segment
  // (time, leaf): when a leaf's value may change with no new event. Derived from `leaves`
  // and `applied_until`; not part of the snapshot (rebuilt on restore and merge). A sorted
  // vector: a profile has a few, and no node is allocated per deadline.
  boost::container::flat_set<Deadline> deadlines;
  // When every leaf whose state only empties with no event (no deadline of its own) is
  // empty: its state is dropped then. kMinTime: none. Derived, like deadlines.
  int64_t cleanup_at = kMinTime;

  // Inserts `e` after any buffered event of the same time.
  void buffer(PendingEvent e);
  LeafState* leaf(uint32_t id);
  LeafState& leaf_or_create(uint32_t id);
  void erase_leaf(uint32_t id);
  const ProfileProperty* property(SymbolId name) const;
  // Sets `name` to `value` unless the profile holds a newer value (later time, or the same
  // time and a greater value). True when it changed.
  bool update_property(SymbolId name, int64_t time, const OwnedValue& value);
  bool is_inside(uint32_t segment) const;
  // kMinTime when the segment was never exited.
  int64_t last_exit(uint32_t segment) const;
  void set_last_exit(uint32_t segment, int64_t time);
  void set_inside(uint32_t segment, bool inside);
  bool empty() const {
    return buffered.empty() && leaves.empty() && properties.empty() && inside.empty() &&
           evaluate_all_at == kMaxTime && deadlines.empty();
  }

  // Folds `other` in: buffered events and window entries are merged in time order, the
  // latest last-times and property values win, memberships stay this profile's (the
  // operator re-evaluates after a merge). Deadlines must be rebuilt afterwards.
  void merge(const ProfileState& other);

  // Symbols are written by name, so a snapshot can be restored by another process.
  void write(StateWriter& w) const;
  static ProfileState read(StateReader& r);
};

}  // namespace segflow

// The exact event-time semantics of each leaf kind, over a LeafState that holds only what
// can still matter: what a matching event adds (apply), what ages out (prune), the value at
// an instant (evaluate) and the next instant at which the value may change with no further
// event (next_change). Used by the segments operator; see segment_rules.h for the kinds.
// Thread safety: pure functions.
#pragma once

#include <cstdint>

#include "operators/expression/expression.h"
#include "operators/segment/profile_state.h"
#include "operators/segment/segment_rules.h"

namespace segflow {

// A leaf's value as reported in output records.
struct LeafValue {
  enum class Kind : uint8_t { kNull, kBool, kInt, kDouble } kind = Kind::kNull;
  double number = 0;
  Value as_value() const;
};

struct LeafResult {
  bool holds = false;
  LeafValue value;
};

// What leaves other than profile leaves are given for the profile's properties: none.
const PropertySource& no_properties();

// Adds the contribution of an event at `time` to `state`.
void apply_feed(const Leaf& leaf, LeafState& state, const LeafFeed& feed, int64_t time);
// Drops what cannot matter at instants >= `now` (events aged out of the longest window
// reading the state, Leaf::keep_ms; cancelled `after` events). `leaf`: the state's owner.
// Returns when every entry left will have aged out with no further event (kMaxTime: none
// left, or never, as an absence's matured `after` with no `for` limit).
int64_t prune_leaf(const Leaf& leaf, LeafState& state, int64_t now);
// REQUIRES: prune_leaf(owner, state, now) ran after the last change. `state` null: no state.
// A window reads only the entries within its own length. `profile` is read by profile
// leaves only.
LeafResult evaluate_leaf(const Leaf& leaf, const LeafState* state, const PropertySource& profile,
                         int64_t now);
// An instant after `now` at which the test's outcome or the state may change with no event,
// no later than the first such change; kMaxTime: never. A count window's value changes
// at every expiry in between: prune_leaf before reading it then. `*empties_only` (when
// given) is set when the outcome cannot change with no event and the instant is only when
// the state empties (a count window that can only fall to counts of the same outcome).
int64_t next_change(const Leaf& leaf, const LeafState& state, int64_t now,
                    bool* empties_only = nullptr);

// What evaluating a leaf that reads a state needs at `now`, in one call: the state pruned for
// its owner (prune_leaf's return in ages_out), the leaf's result (evaluate_leaf) and its next
// change (next_change; kMaxTime when only the state emptying is left, as `*empties_only`
// tells). A count window read at its kept length (the usual one) takes one pass over its
// entries; other leaves go through those three functions.
struct LeafOutcome {
  LeafResult result;
  int64_t change = kMaxTime;
  int64_t ages_out = kMaxTime;
};
// REQUIRES: `owner` is rules.leaves[leaf.state], the owner of `state`. The state may be left
// empty (LeafState::empty(): the caller drops it).
LeafOutcome prune_and_evaluate(const Leaf& owner, const Leaf& leaf, LeafState& state, int64_t now);

// a + b, saturating at kMaxTime (b >= 0).
inline int64_t add_time(int64_t a, int64_t b) { return a > kMaxTime - b ? kMaxTime : a + b; }

}  // namespace segflow

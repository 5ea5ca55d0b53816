// SegmentRules: the parsed `segments:` of a `type: segments` operator. Each segment has an
// `enter` condition and optionally a distinct `exit` condition; a condition is a tree of
// all / any / not over leaf conditions ("leaves"):
//   window:  an aggregate (count, sum, min, max, avg) of matching events over the last
//            `within` of event time, compared with `is` ("> 3", ">= 500", "== 0");
//   absence: an `after` event with no `then_no` event since, for at least `within`
//            (and, with `for`, at most `within` + `for`);
//   recency: the time since the last matching event, compared with `since` (">= 30d");
//   profile: an expression over the profile's latest known properties (traits from
//            identify, context.*), plus local_hour (0-23) and local_weekday (1 = Monday ..
//            7 = Sunday) of the latest event in the profile's context.timezone;
//   rfm:     a comparison of one RFM score (r, f or m, 1..5, from the operator's `rfm:`
//            thresholds) with a number ("r >= 4").
// Every leaf gets an id; the indices map an event name, or a profile property, to the leaves
// that read it, and a leaf to the segments that contain it, so an event only touches the
// rules it can affect. Leaves that keep the same state (the same events, `where`, window and
// aggregated number; only the test or label differs) share it: the first of them owns the
// per-profile state and is the one indexed, so one update per event serves all of them.
// Windows that differ only in length (or function, or test) keep the same entries too: their
// owner keeps them for the longest window (Leaf::keep_ms) and each counts within its own.
// Thread safety: immutable after parse; shared by all subtasks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "engine/config_node.h"
#include "operators/expression/expression.h"

namespace segflow {

enum class LeafKind : uint8_t { kWindow, kAbsence, kRecency, kProfile, kRfm };
enum class RfmScore : uint8_t { kRecency, kFrequency, kMonetary };
enum class WindowFn : uint8_t { kCount, kSum, kMin, kMax, kAvg };
enum class CompareOp : uint8_t { kLt, kLe, kGt, kGe, kEq, kNe };

// "> 3" / ">= 30d": an operator and a number (durations in ms).
struct Comparison {
  CompareOp op = CompareOp::kGt;
  double value = 0;
  bool holds(double x) const {
    switch (op) {
      case CompareOp::kLt:
        return x < value;
      case CompareOp::kLe:
        return x <= value;
      case CompareOp::kGt:
        return x > value;
      case CompareOp::kGe:
        return x >= value;
      case CompareOp::kEq:
        return x == value;
      default:
        return x != value;
    }
  }
};

// Which events an event-reading leaf takes: by name (empty: every event) and `where`.
struct EventMatch {
  std::vector<SymbolId> events;
  std::optional<Expression> where;
  // Which distinct `where` text (SegmentRules::where_count of them): leaves with the same
  // text share one test per event.
  uint32_t where_id = 0;
  bool reads_every_event() const { return events.empty(); }
};

// Leaves reading one state whose outcome is the same at every instant (the same function,
// window and test, e.g. one condition used by several segments): the first decides for all
// of them.
struct SharedOutcome {
  uint32_t leaf = 0;
  std::vector<uint32_t> segments;  // those holding any of these leaves, in order, once each
};

// One leaf condition. Fields are used by the kinds noted; those a count window reads when
// evaluating come first, in the first cache line (a Leaf is aligned to one), the parsed
// expressions and names after.
struct alignas(64) Leaf {
  LeafKind kind = LeafKind::kWindow;
  WindowFn fn = WindowFn::kCount;
  RfmScore score = RfmScore::kRecency;
  bool reads_local_time = false;  // kProfile reading local_hour / local_weekday
  // kWindow: its state is kept longer than its window (Leaf::keep_ms of the owner), so the
  // oldest entries may be outside its own window.
  bool shorter_than_kept = false;
  // The leaf whose per-profile LeafState this one reads: itself, or an earlier leaf that
  // keeps the same state (never for kProfile, which keeps none).
  uint32_t state = 0;
  // kWindow: match, fn, of (the number aggregated; not for count), within_ms, test.
  // kAbsence: match (`after`), then (`then_no`), within_ms, for_ms (0: no limit).
  // kRecency: match, test (on milliseconds since the last match).
  // kProfile: profile (the expression).
  // kRfm: match (the purchases), of (monetary: the value of one), within_ms (frequency and
  // monetary), test (on the score), score and its 4 ascending thresholds (recency: ms).
  int64_t within_ms = 0;
  // On a state owner: how long its entries are kept (the longest within_ms of the windows
  // reading its state; within_ms for the other kinds).
  int64_t keep_ms = 0;
  Comparison test;
  // floor(test.value) and ceil(test.value) - 1: the counts at which a count window's outcome
  // may first differ as its count falls (leaf_eval.cpp), computed once at parse.
  double count_flips[2] = {0, -1};
  int64_t for_ms = 0;
  std::vector<double> thresholds;
  // On a leaf owning its state: the leaves reading it (itself first), grouped by outcome.
  std::vector<SharedOutcome> outcomes;
  SymbolId label_symbol = kNoSymbol;
  std::string label;  // output property naming its value
  EventMatch match;
  EventMatch then;
  std::optional<Expression> of;
  std::optional<Expression> profile;
};

// Whether two leaves reading one state have the same outcome at every instant: the same
// function, window and test.
inline bool same_outcome(const Leaf& a, const Leaf& b) {
  return a.fn == b.fn && a.within_ms == b.within_ms && a.test.op == b.test.op &&
         a.test.value == b.test.value;
}

// The operator's `rfm:` settings: which events are purchases, what one is worth, and the
// thresholds of each score. Scores are 1..5: recency 5 when the last purchase is less than
// recency[0] ago, 4 when less than recency[1], .., 1 otherwise (also with no purchase);
// frequency (purchases in `within`) and monetary (their value) 1 + how many thresholds
// they reach.
struct RfmSettings {
  EventMatch purchases;
  std::optional<Expression> value;
  int64_t within_ms = 0;
  std::vector<double> recency, frequency, monetary;  // 4 ascending each
  static RfmSettings parse(const ConfigNode& node);
};

// What reducing an event needs of one leaf the event may feed (a state owner), kept
// contiguous per event name: an event reads a Leaf only to test a `where` not yet tested for
// it, to take the number a window aggregates, or for an absence (which checks both lists).
struct LeafFeedStep {
  uint32_t leaf = 0;
  uint32_t where_id = 0;      // with tests_where: EventMatch::where_id of the leaf's match
  bool tests_where = false;   // the leaf's match has a `where`
  bool takes_number = false;  // the leaf aggregates a number (Leaf::of)
  bool absence = false;       // kAbsence
};

// A node of a segment's condition tree: a leaf, or all/any/not of child nodes.
struct ConditionNode {
  enum class Op : uint8_t { kLeaf, kAll, kAny, kNot } op = Op::kLeaf;
  uint32_t leaf = 0;
  uint32_t position = 0;           // kLeaf: the leaf's index in Segment::leaves
  std::vector<uint32_t> children;  // indices into Segment::nodes
};

struct Segment {
  std::string name;
  int64_t version = 1;
  std::vector<ConditionNode> nodes;
  uint32_t enter = 0;             // root of the enter condition
  std::optional<uint32_t> exit;   // root of the exit condition (absent: not enter)
  std::vector<uint32_t> leaves;   // every leaf of enter and exit, ascending
  bool enters_on_empty = false;   // enter holds for a profile with no history
  bool reads_local_time = false;  // a leaf reads local_hour / local_weekday
  int64_t cooldown_ms = 0;        // no re-entry sooner than this after an exit
};

struct SegmentRules {
  // Leaf conditions of all segments together, at most (ids fit 16 bits in profile state).
  static constexpr uint32_t kMaxLeaves = 65535;
  std::vector<Segment> segments;
  std::vector<Leaf> leaves;
  // Event name -> leaves reading events of that name (window, absence after/then, recency);
  // state owners only (Leaf::state), as are leaves_of_every_event and the profile's states.
  boost::unordered_flat_map<SymbolId, std::vector<LeafFeedStep>> leaves_by_event;
  std::vector<LeafFeedStep> leaves_of_every_event;  // leaves with no event-name filter
  // Properties kept per profile (read by profile leaves) -> the leaves reading each.
  boost::unordered_flat_map<SymbolId, std::vector<uint32_t>> leaves_by_profile_property;
  // Re-evaluated when the profile's latest event moves to another quarter hour (of UTC).
  std::vector<uint32_t> local_time_leaves;
  std::vector<uint32_t> segments_entering_on_empty;
  uint32_t where_count = 0;       // distinct `where` expressions (EventMatch::where_id)
  SymbolId timezone = kNoSymbol;  // context.timezone
  SymbolId local_hour = kNoSymbol;
  SymbolId local_weekday = kNoSymbol;
  std::optional<RfmSettings> rfm;  // the list owner's `rfm:`, for rfm leaves

  // Parses a `segments:` list, and `rfm:` (optional) beside it.
  static SegmentRules parse(const ConfigNode& list_owner, const std::string& key);
};

}  // namespace segflow

// WindowConfig: the parsed YAML of a `type: window` operator (assigner, aggregates, event
// filter, allowed lateness) and the window arithmetic derived from it.
// Thread safety: immutable after parse; shared read-only by all subtasks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/batch.h"
#include "engine/config_node.h"
#include "engine/symbol_table.h"
#include "operators/window/accumulator.h"
#include "operators/window/event_filter.h"
#include "operators/window/window_state.h"

namespace segflow {

enum class WindowKind : uint8_t { kTumbling, kSliding, kSession };

struct AggregateSpec {
  std::string name;  // output property name
  SymbolId name_symbol = kNoSymbol;
  AggregateFn fn = AggregateFn::kCount;
  SymbolId property = kNoSymbol;  // kNoSymbol: count(*) (count only)
  size_t exact_limit = 1000;      // count_distinct: exact up to this many values
  EventFilter filter;             // which of the window's events this aggregate takes
};

struct WindowConfig {
  WindowKind kind = WindowKind::kTumbling;
  int64_t size_ms = 0;   // tumbling, sliding
  int64_t slide_ms = 0;  // sliding (tumbling: = size)
  int64_t pane_ms = 0;   // gcd(size, slide): the slice events are aggregated in
  int64_t gap_ms = 0;    // session
  int64_t allowed_lateness_ms = 0;
  std::vector<SymbolId> events;  // empty: every event
  std::vector<AggregateSpec> aggregates;
  std::string name;  // output event name; empty: the operator id
  // `combine: true`: the runner puts a WindowCombiner (window_combiner.h) before the hash
  // edge, so events are pre-aggregated per (profile, pane) before the shuffle.
  bool combine = false;

  static WindowConfig parse(const ConfigNode& node);
  // What add() needs of each aggregate, packed (filled by parse from `aggregates`).
  struct AddStep {
    AggregateFn fn = AggregateFn::kCount;
    bool filtered = false;  // the aggregate's filter is not always true
    SymbolId property = kNoSymbol;
    size_t exact_limit = 0;
  };
  std::vector<AddStep> add_steps;

  // One empty accumulator per aggregate.
  Accumulators fresh() const { return Accumulators(aggregates.size()); }
  // Adds event `r` of `in` (arrival number `seq`) to `accs`, aggregate by aggregate, each
  // through its event filter.
  void add(Accumulators& accs, const Batch& in, const Record& r, uint64_t seq) const;
  // Merges `from` into `into` (both from fresh()).
  void merge(Accumulators& into, const Accumulators& from) const;
};

// floor(a / b) for b > 0, also for negative a.
inline int64_t floor_to(int64_t a, int64_t b) {
  const int64_t q = a / b * b;
  return q > a ? q - b : q;
}

}  // namespace segflow

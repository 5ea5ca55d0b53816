// EventFilter: which events an aggregate or a rolling trait takes: by event name (`events`)
// and by a `where` expression over the event's properties (operators/expression, the same
// language as segment rules). Parsed from YAML with file:line:col errors; tested per event.
// Thread safety: immutable after parse; shared read-only by all subtasks.
#pragma once

#include <optional>
#include <vector>

#include "engine/batch.h"
#include "engine/config_node.h"
#include "operators/expression/expression.h"

namespace segflow {

class EventFilter {
 public:
  // Reads the optional keys `events: [names]` and `where: "expression"` of `node` (a map;
  // the caller finishes it).
  static EventFilter parse(const ConfigNode& node);

  bool always() const { return events_.empty() && !where_; }
  // True when record `r` of `in` passes both.
  bool passes(const Batch& in, const Record& r) const;

 private:
  std::vector<SymbolId> events_;  // empty: every event
  std::optional<Expression> where_;
};

}  // namespace segflow

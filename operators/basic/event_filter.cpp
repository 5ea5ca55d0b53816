#include "operators/basic/event_filter.h"

#include <algorithm>

#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("filter", EventFilter);

EventFilter::Config EventFilter::Config::parse(const ConfigNode& node) {
  Config c;
  for (const std::string& name : node.strings("events")) c.events.push_back(intern(name));
  if (c.events.empty()) node.fail("'events' must name at least one event");
  c.exclude = node.boolean("exclude", false);
  return c;
}

bool EventFilter::keep(SymbolId event) const {
  const bool listed =
      std::find(config_.events.begin(), config_.events.end(), event) != config_.events.end();
  return listed != config_.exclude;
}

void EventFilter::process(const Batch& in, Output& out) {
  for (const Record& r : in.records())
    if (keep(r.event)) out.forward(in, r);
}

}  // namespace segflow

#include "operators/window/event_filter.h"

#include <algorithm>
#include <string>

namespace segflow {

EventFilter EventFilter::parse(const ConfigNode& node) {
  EventFilter f;
  if (node.has("events")) {
    for (const std::string& name : node.strings("events")) f.events_.push_back(intern(name));
    if (f.events_.empty()) node.fail_at("events", "'events' must name at least one event");
  }
  if (node.has("where")) f.where_ = Expression::parse(node, "where");
  return f;
}

bool EventFilter::passes(const Batch& in, const Record& r) const {
  if (!events_.empty() && std::find(events_.begin(), events_.end(), r.event) == events_.end())
    return false;
  return !where_ || where_->test(in, r);
}

}  // namespace segflow

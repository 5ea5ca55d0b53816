#include "operators/window/window_config.h"

#include <map>
#include <numeric>

namespace segflow {

namespace {

const std::map<std::string, AggregateFn>& functions() {
  static const std::map<std::string, AggregateFn> fns = {
      {"count", AggregateFn::kCount}, {"sum", AggregateFn::kSum},
      {"min", AggregateFn::kMin},     {"max", AggregateFn::kMax},
      {"avg", AggregateFn::kAvg},     {"first", AggregateFn::kFirst},
      {"last", AggregateFn::kLast},   {"count_distinct", AggregateFn::kCountDistinct}};
  return fns;
}

int64_t positive_duration(const ConfigNode& node, const std::string& key) {
  const int64_t ms = node.duration_ms(key);
  if (ms <= 0) node.fail_at(key, "'" + key + "' must be longer than 0ms");
  return ms;
}

AggregateSpec parse_aggregate(const ConfigNode& node) {
  node.expect_map();
  AggregateSpec a;
  a.name = node.string("name");
  if (a.name.empty()) node.fail_at("name", "'name' must not be empty");
  if (a.name == "window_start" || a.name == "window_end")
    node.fail_at("name", "'" + a.name + "' is reserved for the window bounds");
  a.name_symbol = intern(a.name);
  const std::string fn = node.string("fn");
  const auto it = functions().find(fn);
  if (it == functions().end())
    node.fail_at("fn", "unknown aggregate '" + fn +
                           "' (expected count, sum, min, max, avg, first, last or count_distinct)");
  a.fn = it->second;
  if (node.has("property")) {
    const std::string property = node.string("property");
    if (property.empty()) node.fail_at("property", "'property' must not be empty");
    a.property = intern(property);
  } else if (a.fn != AggregateFn::kCount) {
    node.fail("aggregate '" + fn + "' needs a 'property'");
  }
  if (a.fn == AggregateFn::kCountDistinct)
    a.exact_limit = static_cast<size_t>(node.integer("exact_limit", 1000, 0, 1'000'000));
  a.filter = EventFilter::parse(node);
  node.finish();
  return a;
}

}  // namespace

WindowConfig WindowConfig::parse(const ConfigNode& node) {
  node.expect_map();
  WindowConfig c;
  const ConfigNode window = node.child("window");
  window.expect_map();
  const std::string kind = window.string("kind");
  if (kind == "tumbling") {
    c.kind = WindowKind::kTumbling;
    c.size_ms = positive_duration(window, "size");
    c.slide_ms = c.size_ms;
  } else if (kind == "sliding") {
    c.kind = WindowKind::kSliding;
    c.size_ms = positive_duration(window, "size");
    c.slide_ms = positive_duration(window, "slide");
    if (c.slide_ms > c.size_ms) window.fail_at("slide", "'slide' must not exceed 'size'");
  } else if (kind == "session") {
    c.kind = WindowKind::kSession;
    c.gap_ms = positive_duration(window, "gap");
  } else {
    window.fail_at("kind",
                   "unknown window kind '" + kind + "' (expected tumbling, sliding or session)");
  }
  window.finish();
  if (c.kind != WindowKind::kSession) c.pane_ms = std::gcd(c.size_ms, c.slide_ms);
  c.allowed_lateness_ms = node.duration_ms("allowed_lateness", 0);
  if (c.allowed_lateness_ms < 0)
    node.fail_at("allowed_lateness", "'allowed_lateness' must be 0 or more");
  if (node.has("events")) {
    for (const std::string& name : node.strings("events")) c.events.push_back(intern(name));
    if (c.events.empty()) node.fail_at("events", "'events' must name at least one event");
  }
  for (const ConfigNode& a : node.list("aggregates")) {
    c.aggregates.push_back(parse_aggregate(a));
    for (size_t i = 0; i + 1 < c.aggregates.size(); ++i)
      if (c.aggregates[i].name == c.aggregates.back().name)
        a.fail_at("name", "aggregate '" + c.aggregates.back().name + "' is defined twice");
  }
  if (c.aggregates.empty()) node.fail_at("aggregates", "'aggregates' must list at least one");
  if (c.aggregates.size() > Accumulators::kMaxSize)
    node.fail_at("aggregates",
                 "'aggregates' lists more than " + std::to_string(Accumulators::kMaxSize));
  if (node.has("name")) {
    c.name = node.string("name");
    if (c.name.empty()) node.fail_at("name", "'name' must not be empty");
  }
  for (const AggregateSpec& a : c.aggregates)
    c.add_steps.push_back({a.fn, !a.filter.always(), a.property, a.exact_limit});
  c.combine = node.boolean("combine", false);
  if (c.combine && c.kind == WindowKind::kSession)
    node.fail_at("combine", "'combine' needs tumbling or sliding windows (sessions merge)");
  return c;
}

void WindowConfig::add(Accumulators& accs, const Batch& in, const Record& r, uint64_t seq) const {
  static constexpr Value kNull;
  for (size_t i = 0; i < add_steps.size(); ++i) {
    const AddStep& a = add_steps[i];
    if (a.filtered && !aggregates[i].filter.passes(in, r)) continue;
    const Value* v = nullptr;
    if (a.property != kNoSymbol) {
      v = in.find(r, a.property);
      if (v == nullptr) v = &kNull;
    }
    accs[i].add(a.fn, v, r.event_time, seq, a.exact_limit);
  }
}

void WindowConfig::merge(Accumulators& into, const Accumulators& from) const {
  for (size_t i = 0; i < aggregates.size(); ++i)
    into[i].merge(aggregates[i].fn, from[i], aggregates[i].exact_limit);
}

}  // namespace segflow

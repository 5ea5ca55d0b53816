#include "tests/support/segment_reference.h"

#include <algorithm>
#include <map>
#include <set>

#include "engine/batch.h"
#include "operators/segment/profile_state.h"
#include "operators/segment/time_zone.h"

namespace segflow::testing {

namespace {

// One event as a one-record batch, so expressions can read it as the operator does.
struct Event {
  int64_t time = 0;
  std::shared_ptr<Batch> batch;
  const Record& record() const { return batch->records()[0]; }
};

Value to_value(const TestValue& v) {
  if (std::holds_alternative<bool>(v)) return Value::boolean(std::get<bool>(v));
  if (std::holds_alternative<int64_t>(v)) return Value::integer(std::get<int64_t>(v));
  if (std::holds_alternative<double>(v)) return Value::real(std::get<double>(v));
  if (std::holds_alternative<std::string>(v)) return Value::string(std::get<std::string>(v));
  return Value::null();
}

bool named(const EventMatch& m, const Event& e) {
  return m.events.empty() ||
         std::find(m.events.begin(), m.events.end(), e.record().event) != m.events.end();
}
bool matches(const EventMatch& m, const Event& e) {
  return named(m, e) && (!m.where || m.where->test(*e.batch, e.record()));
}

// The number a window leaf aggregates for `e`, or false when it takes no part.
bool window_input(const Leaf& leaf, const Event& e, double& value) {
  if (!matches(leaf.match, e)) return false;
  value = 1;
  return !leaf.of || leaf.of->number(RecordProperties(*e.batch, e.record()), value);
}

bool relevant(const SegmentRules& rules, const Event& e) {
  if (!rules.local_time_leaves.empty() || !rules.segments_entering_on_empty.empty()) return true;
  for (const Leaf& leaf : rules.leaves) {
    double v;
    switch (leaf.kind) {
      case LeafKind::kWindow:
        if (window_input(leaf, e, v)) return true;
        break;
      case LeafKind::kRecency:
        if (matches(leaf.match, e)) return true;
        break;
      case LeafKind::kRfm:
        if (window_input(leaf, e, v)) return true;
        break;
      case LeafKind::kAbsence:
        if (matches(leaf.match, e) || matches(leaf.then, e)) return true;
        break;
      case LeafKind::kProfile:
        for (SymbolId s : leaf.profile->reads())
          if (e.batch->find(e.record(), s) != nullptr) return true;
        break;
    }
  }
  return false;
}

// The profile's properties at an instant: for each name, the value of the latest event
// carrying it (same time: the greatest value).
class ProfileAt final : public PropertySource {
 public:
  ProfileAt(const SegmentRules& rules, const std::vector<Event>& events, int64_t now)
      : rules_(rules) {
    int64_t latest = kMinTime;
    for (const Event& e : events) {
      if (e.time > now) continue;
      latest = std::max(latest, e.time);
      for (const Property& p : e.batch->properties(e.record())) {
        auto [it, fresh] = values_.try_emplace(p.name, e.time, OwnedValue::from(p.value));
        const OwnedValue v = OwnedValue::from(p.value);
        if (!fresh &&
            (e.time > it->second.first || (e.time == it->second.first && it->second.second < v)))
          it->second = {e.time, v};
      }
    }
    if (latest == kMinTime) return;
    int64_t offset = 0;
    if (const auto it = values_.find(rules.timezone);
        it != values_.end() && it->second.second.type == ValueType::kString)
      if (auto zone = TimeZone::find(it->second.second.string))
        offset = zone->offset_seconds(latest);
    const LocalTime local = LocalTime::at(latest, offset);
    hour_ = Value::integer(local.hour);
    weekday_ = Value::integer(local.weekday);
  }
  const Value* find(SymbolId name) const override {
    if (name == rules_.local_hour) return hour_.is_null() ? nullptr : &hour_;
    if (name == rules_.local_weekday) return weekday_.is_null() ? nullptr : &weekday_;
    const auto it = values_.find(name);
    if (it == values_.end()) return nullptr;
    scratch_ = it->second.second.view();
    return &scratch_;
  }

 private:
  const SegmentRules& rules_;
  std::map<SymbolId, std::pair<int64_t, OwnedValue>> values_;
  Value hour_, weekday_;
  mutable Value scratch_;
};

struct LeafAt {
  bool holds = false;
  Value value;
};

LeafAt leaf_at(const SegmentRules& rules, const Leaf& leaf, const std::vector<Event>& events,
               int64_t now) {
  switch (leaf.kind) {
    case LeafKind::kWindow: {
      std::vector<std::pair<int64_t, double>> in;
      for (const Event& e : events) {
        double v;
        if (e.time <= now && e.time > now - leaf.within_ms && window_input(leaf, e, v))
          in.emplace_back(e.time, v);
      }
      std::sort(in.begin(), in.end());
      double sum = 0;
      for (const auto& p : in) sum += p.second;
      if (leaf.fn == WindowFn::kCount) {
        const double n = static_cast<double>(in.size());
        return {leaf.test.holds(n), Value::integer(static_cast<int64_t>(in.size()))};
      }
      if (leaf.fn == WindowFn::kSum) return {leaf.test.holds(sum), Value::real(sum)};
      if (in.empty()) return {false, Value::null()};
      double v = sum / static_cast<double>(in.size());
      if (leaf.fn == WindowFn::kMin || leaf.fn == WindowFn::kMax) {
        v = in.front().second;
        for (const auto& p : in)
          v = leaf.fn == WindowFn::kMin ? std::min(v, p.second) : std::max(v, p.second);
      }
      return {leaf.test.holds(v), Value::real(v)};
    }
    case LeafKind::kAbsence: {
      for (const Event& a : events) {  // ascending time: the first qualifying is the earliest
        if (a.time > now || !matches(leaf.match, a)) continue;
        if (a.time + leaf.within_ms > now) continue;
        if (leaf.for_ms > 0 && a.time + leaf.within_ms + leaf.for_ms <= now) continue;
        const bool cancelled = std::any_of(events.begin(), events.end(), [&](const Event& c) {
          return c.time >= a.time && c.time <= now && matches(leaf.then, c);
        });
        if (!cancelled) return {true, Value::integer(a.time)};
      }
      return {false, Value::null()};
    }
    case LeafKind::kRecency: {
      int64_t last = kMinTime;
      for (const Event& e : events)
        if (e.time <= now && matches(leaf.match, e)) last = std::max(last, e.time);
      if (last == kMinTime) return {false, Value::null()};
      return {leaf.test.holds(static_cast<double>(now - last)), Value::integer(now - last)};
    }
    case LeafKind::kProfile: {
      const bool holds = leaf.profile->test(ProfileAt(rules, events, now));
      return {holds, Value::boolean(holds)};
    }
    case LeafKind::kRfm: {
      // Recency: since the last purchase; frequency / monetary: count / sum in the window.
      double value = 0;
      int64_t last = kMinTime;
      std::vector<std::pair<int64_t, double>> in;
      for (const Event& e : events) {
        double v;
        if (e.time > now || !window_input(leaf, e, v)) continue;
        last = std::max(last, e.time);
        if (e.time > now - leaf.within_ms) in.emplace_back(e.time, v);
      }
      std::sort(in.begin(), in.end());
      int score = 1;
      if (leaf.score == RfmScore::kRecency) {
        for (int i = 3; i >= 0; --i)
          if (last != kMinTime &&
              static_cast<double>(now - last) < leaf.thresholds[static_cast<size_t>(i)])
            score = 5 - i;
      } else {
        for (const auto& p : in) value += leaf.score == RfmScore::kFrequency ? 1 : p.second;
        for (const double t : leaf.thresholds) score += value >= t ? 1 : 0;
      }
      return {leaf.test.holds(score), Value::integer(score)};
    }
  }
  return {};
}

bool tree(const Segment& s, uint32_t node, const std::map<uint32_t, LeafAt>& leaves) {
  const ConditionNode& n = s.nodes[node];
  switch (n.op) {
    case ConditionNode::Op::kLeaf:
      return leaves.at(n.leaf).holds;
    case ConditionNode::Op::kAll:
      for (uint32_t c : n.children)
        if (!tree(s, c, leaves)) return false;
      return true;
    case ConditionNode::Op::kAny:
      for (uint32_t c : n.children)
        if (tree(s, c, leaves)) return true;
      return false;
    case ConditionNode::Op::kNot:
      return !tree(s, n.children.front(), leaves);
  }
  return false;
}

std::set<int64_t> instants(const SegmentRules& rules, const std::vector<Event>& events) {
  std::set<int64_t> out;
  for (const Event& e : events) {
    out.insert(e.time);
    for (const Leaf& leaf : rules.leaves) {
      double v;
      if (leaf.kind == LeafKind::kWindow && window_input(leaf, e, v))
        out.insert(e.time + leaf.within_ms);
      if (leaf.kind == LeafKind::kAbsence && matches(leaf.match, e)) {
        out.insert(e.time + leaf.within_ms);
        if (leaf.for_ms > 0) out.insert(e.time + leaf.within_ms + leaf.for_ms);
      }
      if (leaf.kind == LeafKind::kRfm && window_input(leaf, e, v)) {
        out.insert(e.time + leaf.within_ms);
        for (const double t : leaf.thresholds) out.insert(e.time + static_cast<int64_t>(t));
      }
      if (leaf.kind == LeafKind::kRecency && matches(leaf.match, e)) {
        const auto d = static_cast<int64_t>(leaf.test.value);
        out.insert(e.time + d);
        out.insert(e.time + d + 1);
      }
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> reference_segment_changes(const SegmentRules& rules,
                                                   const std::vector<InputRecord>& input) {
  std::map<std::string, std::vector<Event>> profiles;
  for (const InputRecord& in : input) {
    Event e;
    e.time = in.time;
    e.batch = std::make_shared<Batch>();
    RecordBuilder b = e.batch->add(in.kind, in.key, in.time, intern(in.event));
    for (const auto& [name, value] : in.properties) b.set(name, to_value(value));
    if (relevant(rules, e)) profiles[in.key].push_back(std::move(e));
  }
  std::vector<std::string> lines;
  for (auto& [key, events] : profiles) {
    std::stable_sort(events.begin(), events.end(),
                     [](const Event& a, const Event& b) { return a.time < b.time; });
    std::vector<bool> inside(rules.segments.size(), false);
    std::vector<int64_t> last_exit(rules.segments.size(), kMinTime);
    std::set<int64_t> times = instants(rules, events);
    for (auto it = times.begin(); it != times.end(); ++it) {  // cool-down ends join in
      const int64_t now = *it;
      for (uint32_t i = 0; i < rules.segments.size(); ++i) {
        const Segment& s = rules.segments[i];
        std::map<uint32_t, LeafAt> leaves;
        for (uint32_t id : s.leaves) leaves[id] = leaf_at(rules, rules.leaves[id], events, now);
        const bool enter = tree(s, s.enter, leaves);
        const bool exit = s.exit ? tree(s, *s.exit, leaves) : !enter;
        const bool cooling =
            s.cooldown_ms > 0 && last_exit[i] != kMinTime && now < last_exit[i] + s.cooldown_ms;
        const bool change = inside[i] ? exit && !enter : enter && !cooling;
        if (!change) continue;
        if (inside[i] && s.cooldown_ms > 0) {
          last_exit[i] = now;
          times.insert(now + s.cooldown_ms);
        }
        OutputRecord r;
        r.kind = EventKind::kDerived;
        r.key = key;
        r.time = now;
        r.event = inside[i] ? "exited" : "entered";
        r.properties.emplace_back("profile_id", "\"" + key + "\"");
        r.properties.emplace_back("segment", "\"" + s.name + "\"");
        r.properties.emplace_back("change", "\"" + r.event + "\"");
        r.properties.emplace_back("rule_version", std::to_string(s.version));
        for (uint32_t id : s.leaves)
          r.properties.emplace_back(rules.leaves[id].label, render_value(leaves[id].value));
        lines.push_back(r.str());
        inside[i] = !inside[i];
      }
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

}  // namespace segflow::testing

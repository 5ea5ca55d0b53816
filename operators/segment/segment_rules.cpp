#include "operators/segment/segment_rules.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

namespace segflow {

namespace {

// Reads "<op> <number>" or, with `durations`, "<op> <duration>" (e.g. ">= 30d").
Comparison parse_comparison(const ConfigNode& node, const std::string& key, bool durations,
                            std::string text) {
  static const std::pair<const char*, CompareOp> kOps[] = {
      {">=", CompareOp::kGe}, {"<=", CompareOp::kLe}, {"==", CompareOp::kEq},
      {"!=", CompareOp::kNe}, {">", CompareOp::kGt},  {"<", CompareOp::kLt}};
  Comparison c;
  size_t pos = 0;
  bool found = false;
  for (const auto& [symbol, op] : kOps) {
    if (text.starts_with(symbol)) {
      c.op = op;
      pos = std::string_view(symbol).size();
      found = true;
      break;
    }
  }
  if (!found)
    node.fail_at(key, "'" + key + "' must start with >, >=, <, <=, == or !=, found '" + text + "'");
  std::string operand = text.substr(pos);
  operand.erase(0, operand.find_first_not_of(' '));
  if (durations) {
    const auto ms = parse_duration_ms(operand);
    if (!ms) node.fail_at(key, "'" + operand + "' is not a duration (e.g. 30d, 12h, 15m)");
    c.value = static_cast<double>(*ms);
  } else {
    const char* end = operand.data() + operand.size();
    const auto [p, ec] = std::from_chars(operand.data(), end, c.value);
    if (operand.empty() || ec != std::errc() || p != end)
      node.fail_at(key, "'" + operand + "' is not a number");
  }
  return c;
}

Comparison parse_comparison(const ConfigNode& node, const std::string& key, bool durations) {
  return parse_comparison(node, key, durations, node.string(key));
}

// Four ascending thresholds (durations in ms with `durations`).
std::vector<double> parse_thresholds(const ConfigNode& node, const std::string& key,
                                     bool durations) {
  std::vector<double> out;
  for (const std::string& text : node.strings(key)) {
    double v = 0;
    if (durations) {
      const auto ms = parse_duration_ms(text);
      if (!ms) node.fail_at(key, "'" + text + "' is not a duration (e.g. 30d, 12h, 15m)");
      v = static_cast<double>(*ms);
    } else {
      const char* end = text.data() + text.size();
      const auto [p, ec] = std::from_chars(text.data(), end, v);
      if (text.empty() || ec != std::errc() || p != end)
        node.fail_at(key, "'" + text + "' is not a number");
    }
    if (!out.empty() && v <= out.back())
      node.fail_at(key, "'" + key + "' thresholds must be ascending");
    out.push_back(v);
  }
  if (out.size() != 4)
    node.fail_at(key, "'" + key + "' needs 4 thresholds (between scores 1..5), found " +
                          std::to_string(out.size()));
  return out;
}

EventMatch parse_match(const ConfigNode& node, const std::string& events_key,
                       const std::string& where_key, bool required) {
  EventMatch m;
  if (required || node.has(events_key)) {
    for (const std::string& name : node.strings(events_key)) m.events.push_back(intern(name));
    if (m.events.empty()) node.fail_at(events_key, "'" + events_key + "' names no event");
  }
  if (node.has(where_key)) m.where = Expression::parse(node, where_key);
  return m;
}

int64_t positive_duration(const ConfigNode& node, const std::string& key) {
  const int64_t ms = node.duration_ms(key);
  if (ms <= 0) node.fail_at(key, "'" + key + "' must be longer than 0ms");
  return ms;
}

class Builder {
 public:
  explicit Builder(SegmentRules& rules) : rules_(rules) {}

  uint32_t condition(const ConfigNode& node, Segment& segment, uint32_t segment_id) {
    node.expect_map();
    static const char* kKinds[] = {"all",     "any",     "not",     "window",
                                   "absence", "recency", "profile", "rfm"};
    std::vector<std::string> present;
    for (const char* k : kKinds)
      if (node.has(k)) present.emplace_back(k);
    if (present.size() != 1)
      node.fail(
          "a condition needs exactly one of all, any, not, window, absence, recency, "
          "profile, rfm");
    const std::string& kind = present.front();
    ConditionNode c;
    if (kind == "all" || kind == "any") {
      c.op = kind == "all" ? ConditionNode::Op::kAll : ConditionNode::Op::kAny;
      const auto children = node.list(kind);
      if (children.empty()) node.fail_at(kind, "'" + kind + "' needs at least one condition");
      for (const ConfigNode& child : children)
        c.children.push_back(condition(child, segment, segment_id));
    } else if (kind == "not") {
      c.op = ConditionNode::Op::kNot;
      c.children.push_back(condition(node.child("not"), segment, segment_id));
    } else {
      c.leaf = leaf(node, kind, segment, segment_id);
    }
    node.finish();
    segment.nodes.push_back(std::move(c));
    return static_cast<uint32_t>(segment.nodes.size() - 1);
  }

 private:
  uint32_t leaf(const ConfigNode& node, const std::string& kind, Segment& segment,
                uint32_t segment_id) {
    Leaf l;
    const uint32_t id = static_cast<uint32_t>(rules_.leaves.size());
    if (id >= SegmentRules::kMaxLeaves)  // profile state keeps leaf ids in 16 bits
      node.fail("more than " + std::to_string(SegmentRules::kMaxLeaves) +
                " leaf conditions in all segments");
    if (kind == "profile") {
      l.kind = LeafKind::kProfile;
      l.profile = Expression::parse(node, "profile");
    } else if (kind == "rfm") {
      rfm_leaf(node, l);
    } else {
      const ConfigNode body = node.child(kind);
      body.expect_map();
      if (kind == "window") {
        l.kind = LeafKind::kWindow;
        l.match = parse_match(body, "events", "where", false);
        static const std::pair<const char*, WindowFn> kFns[] = {{"count", WindowFn::kCount},
                                                                {"sum", WindowFn::kSum},
                                                                {"min", WindowFn::kMin},
                                                                {"max", WindowFn::kMax},
                                                                {"avg", WindowFn::kAvg}};
        const std::string fn = body.string("fn", "count");
        const auto* it = std::find_if(std::begin(kFns), std::end(kFns),
                                      [&](const auto& p) { return fn == p.first; });
        if (it == std::end(kFns))
          body.fail_at("fn", "unknown fn '" + fn + "' (expected count, sum, min, max or avg)");
        l.fn = it->second;
        if (l.fn != WindowFn::kCount) {
          l.of = Expression::parse(body, "of", Expression::Kind::kNumber);
        } else if (body.has("of")) {
          body.fail_at("of", "fn count takes no 'of'");
        }
        l.within_ms = positive_duration(body, "within");
        l.test = parse_comparison(body, "is", false);
      } else if (kind == "absence") {
        l.kind = LeafKind::kAbsence;
        l.match = parse_match(body, "after", "after_where", true);
        l.then = parse_match(body, "then_no", "then_where", true);
        l.within_ms = positive_duration(body, "within");
        if (body.has("for")) l.for_ms = positive_duration(body, "for");
      } else {
        l.kind = LeafKind::kRecency;
        l.match = parse_match(body, "events", "where", false);
        l.test = parse_comparison(body, "since", true);
      }
      if (body.has("name")) l.label = body.string("name");
      body.finish();
    }
    if (node.has("name")) l.label = node.string("name");
    if (l.label.empty()) l.label = "c" + std::to_string(segment.leaves.size() + 1);
    if (std::any_of(segment.leaves.begin(), segment.leaves.end(),
                    [&](uint32_t other) { return rules_.leaves[other].label == l.label; }))
      node.fail("two conditions of segment '" + segment.name + "' are named '" + l.label + "'");
    l.label_symbol = intern(l.label);
    l.count_flips[0] = std::floor(l.test.value);
    l.count_flips[1] = std::ceil(l.test.value) - 1;
    l.state = id;
    l.keep_ms = l.within_ms;
    if (l.kind != LeafKind::kProfile) {
      const auto [owner, added] = state_owners_.try_emplace(state_key(l), id);
      if (!added) {
        l.state = owner->second;
        Leaf& kept = rules_.leaves[l.state];
        kept.keep_ms = std::max(kept.keep_ms, l.within_ms);
      }
    }
    share_outcome(l.state == id ? l : rules_.leaves[l.state], l, id, segment_id);
    index(l, id);
    segment.reads_local_time = segment.reads_local_time || l.reads_local_time;
    segment.leaves.push_back(id);
    rules_.leaves.push_back(std::move(l));
    return id;
  }

  // `rfm: "r >= 4"` (also "rfm.r >= 4"): a score, a comparison and the operator's settings.
  void rfm_leaf(const ConfigNode& node, Leaf& l) {
    if (!rules_.rfm) node.fail_at("rfm", "an rfm condition needs the operator's 'rfm:' settings");
    std::string text = node.string("rfm");
    if (text.starts_with("rfm.")) text.erase(0, 4);
    static const std::pair<char, RfmScore> kScores[] = {
        {'r', RfmScore::kRecency}, {'f', RfmScore::kFrequency}, {'m', RfmScore::kMonetary}};
    const auto* it = std::find_if(std::begin(kScores), std::end(kScores), [&](const auto& p) {
      return !text.empty() && text.front() == p.first;
    });
    if (it == std::end(kScores) || (text.size() > 1 && text[1] != ' ' && text[1] != '<' &&
                                    text[1] != '>' && text[1] != '=' && text[1] != '!'))
      node.fail_at("rfm", "'rfm' must read r, f or m, e.g. \"r >= 4\", found '" + text + "'");
    l.kind = LeafKind::kRfm;
    l.score = it->second;
    std::string comparison = text.substr(1);
    comparison.erase(0, comparison.find_first_not_of(' '));
    l.test = parse_comparison(node, "rfm", false, comparison);
    const RfmSettings& rfm = *rules_.rfm;
    l.match.events = rfm.purchases.events;
    if (rfm.purchases.where) l.match.where = rfm.purchases.where;
    l.within_ms = rfm.within_ms;
    switch (l.score) {
      case RfmScore::kRecency:
        l.thresholds = rfm.recency;
        break;
      case RfmScore::kFrequency:
        l.thresholds = rfm.frequency;
        break;
      case RfmScore::kMonetary:
        l.thresholds = rfm.monetary;
        l.of = rfm.value;
        break;
    }
  }

  // Adds leaf `id` (`l`) of segment `segment_id` to the outcomes of its state's `owner`.
  void share_outcome(Leaf& owner, const Leaf& l, uint32_t id, uint32_t segment_id) {
    for (SharedOutcome& o : owner.outcomes) {
      const Leaf& decides = o.leaf == id ? l : rules_.leaves[o.leaf];
      if (!same_outcome(decides, l)) continue;
      if (std::find(o.segments.begin(), o.segments.end(), segment_id) == o.segments.end())
        o.segments.push_back(segment_id);
      return;
    }
    owner.outcomes.push_back({id, {segment_id}});
  }

  // What decides a leaf's per-profile state (not its test or label, nor a window's length):
  // leaves with the same key keep the same state.
  static std::string state_key(const Leaf& l) {
    std::string key;
    auto add = [&](const auto& x) { key.append(reinterpret_cast<const char*>(&x), sizeof x); };
    auto add_match = [&](const EventMatch& m) {
      add(m.events.size());
      for (SymbolId e : m.events) add(e);
      const std::string& where = m.where ? m.where->text() : std::string();
      add(where.size());
      key += where;
    };
    add(l.kind);
    add(l.score);
    if (l.kind != LeafKind::kWindow) add(l.within_ms);
    add(l.for_ms);
    add_match(l.match);
    add_match(l.then);
    key += l.of ? l.of->text() : std::string();
    return key;
  }

  void index(Leaf& l, uint32_t id) {
    auto add_events = [&](EventMatch& m) {
      if (m.where) {
        const auto [it, added] = where_ids_.try_emplace(m.where->text(), rules_.where_count);
        if (added) ++rules_.where_count;
        m.where_id = it->second;
      }
      if (l.state != id) return;  // its state's owner is indexed
      if (m.reads_every_event()) {
        push_step(rules_.leaves_of_every_event, l, id);
      } else {
        for (SymbolId e : m.events) push_step(rules_.leaves_by_event[e], l, id);
      }
    };
    switch (l.kind) {
      case LeafKind::kWindow:
      case LeafKind::kRecency:
      case LeafKind::kRfm:
        add_events(l.match);
        break;
      case LeafKind::kAbsence:
        add_events(l.match);
        add_events(l.then);
        break;
      case LeafKind::kProfile:
        for (SymbolId s : l.profile->reads()) {
          if (s == rules_.local_hour || s == rules_.local_weekday) {
            l.reads_local_time = true;
            continue;
          }
          push_unique(rules_.leaves_by_profile_property[s], id);
        }
        if (l.reads_local_time) {
          push_unique(rules_.local_time_leaves, id);
          push_unique(rules_.leaves_by_profile_property[rules_.timezone], id);
        }
        break;
    }
  }

  static void push_step(std::vector<LeafFeedStep>& steps, const Leaf& l, uint32_t id) {
    if (std::any_of(steps.begin(), steps.end(),
                    [&](const LeafFeedStep& step) { return step.leaf == id; }))
      return;
    steps.push_back({id, l.match.where_id, l.match.where.has_value(), l.of.has_value(),
                     l.kind == LeafKind::kAbsence});
  }

  static void push_unique(std::vector<uint32_t>& v, uint32_t id) {
    if (std::find(v.begin(), v.end(), id) == v.end()) v.push_back(id);
  }

  SegmentRules& rules_;
  std::map<std::string, uint32_t, std::less<>> where_ids_;  // by expression text
  std::map<std::string, uint32_t> state_owners_;            // by state_key
};

}  // namespace

RfmSettings RfmSettings::parse(const ConfigNode& node) {
  node.expect_map();
  RfmSettings s;
  s.purchases = parse_match(node, "events", "where", true);
  s.value = Expression::parse(node, "value", Expression::Kind::kNumber);
  s.within_ms = positive_duration(node, "within");
  s.recency = parse_thresholds(node, "recency", true);
  s.frequency = parse_thresholds(node, "frequency", false);
  s.monetary = parse_thresholds(node, "monetary", false);
  node.finish();
  return s;
}

SegmentRules SegmentRules::parse(const ConfigNode& owner, const std::string& key) {
  SegmentRules rules;
  if (owner.has("rfm")) rules.rfm = RfmSettings::parse(owner.child("rfm"));
  rules.timezone = intern("context.timezone");
  rules.local_hour = intern("local_hour");
  rules.local_weekday = intern("local_weekday");
  const std::vector<ConfigNode> list = owner.list(key);
  if (list.empty()) owner.fail_at(key, "'" + key + "' needs at least one segment");
  std::set<std::string> names;
  Builder builder(rules);
  for (const ConfigNode& node : list) {
    node.expect_map();
    Segment s;
    s.name = node.string("name");
    if (s.name.empty()) node.fail_at("name", "'name' must not be empty");
    if (!names.insert(s.name).second) node.fail_at("name", "segment '" + s.name + "' twice");
    s.version = node.integer("version", 1, 0);
    const auto segment_id = static_cast<uint32_t>(rules.segments.size());
    s.enter = builder.condition(node.child("enter"), s, segment_id);
    if (node.has("exit")) s.exit = builder.condition(node.child("exit"), s, segment_id);
    if (node.has("cooldown")) s.cooldown_ms = positive_duration(node, "cooldown");
    std::sort(s.leaves.begin(), s.leaves.end());
    for (ConditionNode& n : s.nodes)
      if (n.op == ConditionNode::Op::kLeaf)
        n.position = static_cast<uint32_t>(
            std::lower_bound(s.leaves.begin(), s.leaves.end(), n.leaf) - s.leaves.begin());
    node.finish();
    rules.segments.push_back(std::move(s));
  }
  for (Leaf& l : rules.leaves) l.shorter_than_kept = l.within_ms < rules.leaves[l.state].keep_ms;
  return rules;
}

}  // namespace segflow

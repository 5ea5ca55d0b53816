#include "operators/segment/segments_operator.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <span>

#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("segments", SegmentsOperator);

namespace {

// 2: a profile's pending instant is in the operator's own queue, with one engine timer;
// version 1 kept one engine timer per profile, and is refused.
constexpr uint64_t kStateFormatVersion = 2;

// A profile's latest properties, plus local_hour / local_weekday of its latest event.
class ProfileProperties final : public PropertySource {
 public:
  // `local_time` false: local_hour / local_weekday are absent (no leaf reads them).
  ProfileProperties(const ProfileState& s, const SegmentRules& rules, const TimeZone* zone,
                    bool local_time = true)
      : state_(s), rules_(rules) {
    if (!local_time || s.last_event_time == kMinTime) return;
    const LocalTime local = LocalTime::at(
        s.last_event_time, zone != nullptr ? zone->offset_seconds(s.last_event_time) : 0);
    hour_ = Value::integer(local.hour);
    weekday_ = Value::integer(local.weekday);
  }
  const Value* find(SymbolId name) const override {
    if (name == rules_.local_hour) return hour_.is_null() ? nullptr : &hour_;
    if (name == rules_.local_weekday) return weekday_.is_null() ? nullptr : &weekday_;
    const ProfileProperty* p = state_.property(name);
    if (p == nullptr) return nullptr;
    scratch_ = p->value.view();
    return &scratch_;
  }

 private:
  const ProfileState& state_;
  const SegmentRules& rules_;
  Value hour_, weekday_;
  mutable Value scratch_;
};

bool has_event(const EventMatch& m, SymbolId event) {
  return m.events.empty() || std::find(m.events.begin(), m.events.end(), event) != m.events.end();
}

int64_t quarter_hour(int64_t time) {
  constexpr int64_t kQuarter = 15 * 60 * 1000;
  return time >= 0 ? time / kQuarter : -((-(time + 1)) / kQuarter) - 1;
}

// A snapshot written before leaves shared state (Leaf::state), or before windows of
// different lengths did, keeps a copy of a shared state under each leaf: the owner keeps the
// longest (the copies hold suffixes of the same events: the longest holds every entry that
// still matters to any of them), and feeds go to the owner, once.
void move_to_state_owners(const SegmentRules& rules, ProfileState& s) {
  // Ids of another rule set are left for the caller to reject.
  auto owner_of = [&](uint32_t id) {
    return id < rules.leaves.size() ? rules.leaves[id].state : id;
  };
  const bool copies =
      std::any_of(s.leaves.begin(), s.leaves.end(),
                  [&](const LeafState& st) { return owner_of(st.id()) != st.id(); }) ||
      std::any_of(s.buffered.begin(), s.buffered.end(), [&](const PendingEvent& e) {
        return std::any_of(e.feeds.begin(), e.feeds.end(),
                           [&](const LeafFeed& f) { return owner_of(f.leaf) != f.leaf; });
      });
  if (!copies) return;
  for (uint32_t id : s.leaves.sorted_ids()) {
    const uint32_t owner = owner_of(id);
    if (owner == id) continue;
    const LeafState* kept = s.leaf(owner);
    if (kept == nullptr || s.leaf(id)->entries.size() > kept->entries.size()) {
      LeafState copy = std::move(*s.leaf(id));
      LeafState& to = s.leaf_or_create(owner);
      const int64_t last = std::max(to.last(), copy.last());
      to.entries = std::move(copy.entries);  // keeps the owner's tag
      to.set_last(last);
    }
    s.erase_leaf(id);
  }
  for (PendingEvent& e : s.buffered) {
    std::vector<LeafFeed> feeds;
    for (LeafFeed f : e.feeds) {
      f.leaf = owner_of(f.leaf);
      if (std::none_of(feeds.begin(), feeds.end(),
                       [&](const LeafFeed& g) { return g.leaf == f.leaf && g.role == f.role; }))
        feeds.push_back(f);
    }
    e.feeds = std::move(feeds);
  }
}

}  // namespace

SegmentsOperator::Config SegmentsOperator::Config::parse(const ConfigNode& node) {
  node.expect_map();
  Config c;
  c.rules = SegmentRules::parse(node, "segments");
  c.emitted_at = node.boolean("emitted_at", true);
  node.finish();
  // Which segments enter on an empty history: evaluate them once on an empty profile.
  SegmentsOperator probe(c);
  ProfileState empty;
  for (uint32_t i = 0; i < c.rules.segments.size(); ++i) {
    Segment& segment = c.rules.segments[i];
    probe.results_.clear();
    const ProfileProperties none(empty, c.rules, nullptr);
    for (uint32_t leaf : segment.leaves)
      probe.results_.push_back(evaluate_leaf(c.rules.leaves[leaf], nullptr, none, 0));
    segment.enters_on_empty = probe.evaluate_node(segment, segment.enter);
    if (segment.enters_on_empty) c.rules.segments_entering_on_empty.push_back(i);
  }
  return c;
}

SegmentsOperator::SegmentsOperator(const Config& config)
    : config_(config),
      entered_(intern("entered")),
      exited_(intern("exited")),
      profile_id_property_(intern("profile_id")),
      segment_property_(intern("segment")),
      change_property_(intern("change")),
      version_property_(intern("rule_version")),
      emitted_at_property_(intern("emitted_at")) {
  // A leaf's outcome is decided by the SharedOutcome of its state's owner with its function
  // and test (segment_rules.cpp share_outcome); profile leaves decide their own.
  const std::vector<Leaf>& leaves = config_.rules.leaves;
  routes_.resize(leaves.size());
  for (uint32_t id = 0; id < leaves.size(); ++id) {
    const Leaf& l = leaves[id];
    routes_[id].decider = id;
    if (l.kind == LeafKind::kProfile) continue;
    for (const SharedOutcome& o : leaves[l.state].outcomes) {
      const Leaf& d = leaves[o.leaf];
      if (same_outcome(d, l)) {
        routes_[id].decider = o.leaf;
        break;
      }
    }
  }
  for (const Segment& segment : config_.rules.segments)
    single_leaf_.push_back(segment.nodes.size() == 1 && !segment.exit &&
                                   leaves[segment.leaves.front()].kind != LeafKind::kProfile
                               ? segment.leaves.front()
                               : kNoLeaf);
  // Each state owner's readers (every segment of each of its outcomes), laid out flat.
  for (uint32_t id = 0; id < leaves.size(); ++id) {
    if (leaves[id].state != id) continue;
    routes_[id].readers_begin = static_cast<uint32_t>(readers_.size());
    for (const SharedOutcome& o : leaves[id].outcomes)
      readers_.insert(readers_.end(), o.segments.begin(), o.segments.end());
    routes_[id].readers_end = static_cast<uint32_t>(readers_.size());
  }
  for (uint32_t id = 0; id < leaves.size(); ++id) {
    const LeafRoute& owner = routes_[leaves[id].state];
    routes_[id].readers_begin = owner.readers_begin;
    routes_[id].readers_end = owner.readers_end;
  }
}

void SegmentsOperator::add_state_readers(uint32_t id, std::vector<uint32_t>& segments) const {
  const LeafRoute& r = routes_[id];
  segments.insert(segments.end(), readers_.begin() + r.readers_begin,
                  readers_.begin() + r.readers_end);
}

void SegmentsOperator::open(OperatorContext& ctx) {
  Operator::open(ctx);
  origin_ = ctx.operator_id + "#" + std::to_string(ctx.subtask);
  state_ = std::make_unique<ValueState<ProfileState>>(ctx.state_scope());
  state_->on_load([this](ProfileState& s) {  // rocksdb backend
    move_to_state_owners(config_.rules, s);
    rebuild_deadlines(s);
    s.timer = std::min(s.timer, next_instant(s));  // as restore() does
  });
  counts_.assign(config_.rules.segments.size(), SegmentCounts{});
  const OperatorMetrics metrics = ctx.metrics();
  segment_metrics_.clear();
  for (const Segment& segment : config_.rules.segments) {
    const std::vector<MetricLabel> labels = {{"segment", segment.name}};
    segment_metrics_.push_back(
        {&metrics.counter("segflow_segment_entered_total", "Profiles that entered a segment",
                          labels),
         &metrics.counter("segflow_segment_exited_total", "Profiles that exited a segment", labels),
         &metrics.gauge("segflow_segment_members", "Profiles inside a segment now", labels)});
  }
  where_results_.assign(config_.rules.where_count, kUntested);
}

int64_t SegmentsOperator::effective_watermark() const {
  return std::max(ctx().watermark, watermark_floor_);
}

bool SegmentsOperator::reduce(const Batch& in, const Record& r, PendingEvent& e) const {
  const SegmentRules& rules = config_.rules;
  e.time = r.event_time;
  e.feeds.clear();
  // Each distinct `where` is tested once per event: where_results_ caches the outcomes.
  for (uint32_t id : where_tested_) where_results_[id] = kUntested;
  where_tested_.clear();
  // `named`: the event's name is known to be one `m` takes (found through the index).
  // (Forming the reference `where` reads nothing: a cached outcome reads no Leaf.)
  auto where_holds = [&](uint32_t where_id, const Expression& where) {
    int8_t& result = where_results_[where_id];
    if (result == kUntested) {
      result = where.test(in, r) ? 1 : 0;
      where_tested_.push_back(where_id);
    }
    return result == 1;
  };
  auto matches = [&](const EventMatch& m) {
    return has_event(m, r.event) && (!m.where || where_holds(m.where_id, *m.where));
  };
  // Found under the event's name, or taking every event (an absence leaf is indexed under
  // the names of both its lists, so which one matched is checked).
  auto feed = [&](const LeafFeedStep& step) {
    const uint32_t id = step.leaf;
    if (step.absence) {
      const Leaf& leaf = rules.leaves[id];
      if (matches(leaf.then)) e.feeds.push_back({LeafFeed::Role::kThen, id, 0});
      if (matches(leaf.match)) e.feeds.push_back({LeafFeed::Role::kMatch, id, 0});
      return;
    }
    if (step.tests_where && !where_holds(step.where_id, *rules.leaves[id].match.where)) return;
    double value = 1;
    if (step.takes_number && !rules.leaves[id].of->number(RecordProperties(in, r), value)) return;
    e.feeds.push_back({LeafFeed::Role::kMatch, id, value});
  };
  if (const auto it = rules.leaves_by_event.find(r.event); it != rules.leaves_by_event.end())
    for (const LeafFeedStep& step : it->second) feed(step);
  for (const LeafFeedStep& step : rules.leaves_of_every_event) feed(step);
  // The updates of a recycled event are overwritten in place (short strings are stored
  // inline: copying such a property allocates nothing).
  size_t updates = 0;
  if (!rules.leaves_by_profile_property.empty()) {
    for (const Property& p : in.properties(r)) {
      if (!rules.leaves_by_profile_property.contains(p.name)) continue;
      if (updates == e.updates.size()) e.updates.emplace_back();
      PropertyUpdate& u = e.updates[updates++];
      u.name = p.name;
      u.value = OwnedValue::from(p.value);
    }
  }
  e.updates.resize(updates);
  // Any event starts a profile when a segment holds for an empty history; local time
  // follows every event.
  return !e.feeds.empty() || !e.updates.empty() || !rules.local_time_leaves.empty() ||
         !rules.segments_entering_on_empty.empty();
}

void SegmentsOperator::process(const Batch& in, Output& /*out*/) {
  const int64_t watermark = effective_watermark();
  const std::span<const Record> records = in.records();
  // Reduced first (late events dead-lettered), then buffered into their profiles in one run of
  // prefetched lookups (keyed_state.h get_or_create_each): with many profiles, a lookup
  // otherwise waits for a cache miss or two, one record after the other.
  incoming_.clear();
  PendingEvent e = take_spare_event();
  for (size_t i = 0; i < records.size(); ++i) {
    const Record& r = records[i];
    if (!reduce(in, r, e)) continue;
    if (r.event_time <= watermark) {
      ++late_events_;
      send_late_event(ctx().dead_letters, origin_, r, watermark);
      continue;
    }
    e.ingest_ns = in.ingest_ns();
    incoming_.push_back({static_cast<uint32_t>(i), std::move(e)});
    e = take_spare_event();
  }
  recycle_event(std::move(e));
  state_->get_or_create_each(
      incoming_.size(),
      [&](size_t i) -> std::optional<std::string_view> { return records[incoming_[i].record].key; },
      [&](size_t i, ProfileState& s) {
        const int64_t time = incoming_[i].event.time;
        s.buffer(std::move(incoming_[i].event));
        // The profile's next instant becomes the event's when that is earlier (s.timer is at
        // next_instant(s) or before it, and a buffered event adds only its own time).
        if (time >= s.timer) return;
        s.timer = time;  // a pair of the old time left in due_ is stale
        if (time < horizon_) due_.push(time, records[incoming_[i].record].key);
      });
  incoming_.clear();
  ensure_wakeup();
}

PendingEvent SegmentsOperator::take_spare_event() {
  if (spare_events_.empty()) return {};
  PendingEvent e = std::move(spare_events_.back());
  spare_events_.pop_back();
  return e;
}

void SegmentsOperator::recycle_event(PendingEvent&& e) {
  if (spare_events_.size() < kSpareEvents) spare_events_.push_back(std::move(e));
}

void SegmentsOperator::on_timer(const Timer& timer, Output& out) {
  watermark_floor_ = std::max(watermark_floor_, ctx().watermark);
  if (timer.time == wakeup_) wakeup_ = kMaxTime;  // consumed
  // Every instant up to the watermark, in this one call: the engine timer would otherwise
  // come back for each later instant in turn, in the same order.
  fire_due(std::max(timer.time, ctx().watermark), out);
  ensure_wakeup();
}

void SegmentsOperator::fire_due(int64_t until, Output& out) {
  // Pairs leave due_ a few ahead of their turn, into ahead_, and their profiles' lookups are
  // prefetched. A pair queued meanwhile (a fired profile's next instant) that comes before
  // ahead_'s first goes first: profiles fire in (time, key) order, each up to its own instant
  // only, so records of all profiles come out in event-time order.
  constexpr size_t kAhead = 8;
  constexpr size_t kEntryAhead = kAhead / 2;  // entry prefetches run this many pairs ahead
  ahead_.resize(kAhead);
  size_t first = 0;
  size_t count = 0;
  auto at = [&](size_t i) -> DuePair& { return ahead_[(first + i) % kAhead]; };
  auto precedes = [](int64_t time, std::string_view key, const DuePair& p) {
    return time != p.time ? time < p.time : key < std::string_view(p.key);
  };
  for (;;) {
    while (count < kAhead && !due_.empty() && due_.top_time() <= until &&
           (count == 0 || !precedes(due_.top_time(), due_.top_key(), at(count - 1)))) {
      DuePair& p = at(count);
      p.time = due_.top_time();
      p.key.assign(due_.top_key());
      p.hash = hash_key(p.key);
      due_.pop();
      state_->prefetch_bucket(p.key, p.hash);
      if (count < kEntryAhead) state_->prefetch_entry(p.key, p.hash);
      ++count;
    }
    if (count == 0) {
      // The instants at and after the horizon are in the profiles' states only.
      if (horizon_ == kMaxTime || horizon_ > until) return;
      reschedule_all(horizon_);
      continue;
    }
    if (!due_.empty() && precedes(due_.top_time(), due_.top_key(), at(0))) {
      const int64_t time = due_.top_time();
      due_key_.assign(due_.top_key());
      due_.pop();
      fire(due_key_, hash_key(due_key_), time, out);
      continue;
    }
    DuePair& p = at(0);
    fire(p.key, p.hash, p.time, out);
    first = (first + 1) % kAhead;
    --count;
    if (count >= kEntryAhead) {
      const DuePair& next = at(kEntryAhead - 1);
      state_->prefetch_entry(next.key, next.hash);
    }
  }
}

void SegmentsOperator::fire(std::string_view key, uint64_t hash, int64_t time, Output& out) {
  ProfileState* s = state_->get(key, hash);
  if (s == nullptr || s->timer != time) return;  // a stale pair
  s->timer = kMaxTime;                           // consumed
  advance(key, *s, time, out);
  schedule(key, *s);
  if (s->empty()) state_->erase(key, hash);
}

void SegmentsOperator::on_watermark(int64_t watermark, Output& /*out*/) {
  watermark_floor_ = std::max(watermark_floor_, watermark);
}

void SegmentsOperator::advance(std::string_view key, ProfileState& s, int64_t until, Output& out) {
  const SegmentRules& rules = config_.rules;
  const int64_t outer_cause = out.ingest_cause();
  for (;;) {
    const int64_t now = next_instant(s);
    if (now == kMaxTime || now > until) {
      out.set_ingest_cause(outer_cause);
      return;
    }
    int64_t cause = outer_cause;  // the events applied at `now` caused its changes
    segments_.clear();
    // A segment's deadline (its id) or cool-down end (segment count + its id) is due.
    const auto segment_count = static_cast<uint32_t>(rules.segments.size());
    auto due_end = s.deadlines.begin();
    for (; due_end != s.deadlines.end() && due_end->time <= now; ++due_end)
      segments_.push_back(due_end->id < segment_count ? due_end->id : due_end->id - segment_count);
    s.deadlines.erase(s.deadlines.begin(), due_end);
    // The leaves fed now, fetched together (a profile read by many rules has a large table).
    size_t due = 0;
    for (; due < s.buffered.size() && s.buffered[due].time == now; ++due)
      for (const LeafFeed& f : s.buffered[due].feeds) s.leaves.prefetch_index(f.leaf);
    for (size_t i = 0; i < due; ++i)
      for (const LeafFeed& f : s.buffered[i].feeds) s.leaves.prefetch_slot(f.leaf);
    for (size_t i = 0; i < due; ++i)
      for (const LeafFeed& f : s.buffered[i].feeds) s.leaves.prefetch_entries(f.leaf);
    size_t applied = 0;
    for (; applied < due; ++applied) {
      const PendingEvent& e = s.buffered[applied];
      cause = std::min(cause, e.ingest_ns);
      for (const LeafFeed& f : e.feeds) {
        apply_feed(rules.leaves[f.leaf], s.leaf_or_create(f.leaf), f, now);
        add_state_readers(f.leaf, segments_);
      }
      for (const PropertyUpdate& u : e.updates)
        if (s.update_property(u.name, now, u.value))
          for (uint32_t leaf : rules.leaves_by_profile_property.at(u.name))
            add_state_readers(leaf, segments_);
      // Local hour and weekday cannot change within a quarter hour of UTC (every zone's
      // offset, and every offset change, falls on a quarter hour).
      if (s.last_event_time == kMinTime || quarter_hour(s.last_event_time) != quarter_hour(now))
        for (uint32_t leaf : rules.local_time_leaves) add_state_readers(leaf, segments_);
      s.last_event_time = std::max(s.last_event_time, now);
    }
    for (size_t i = 0; i < applied; ++i) recycle_event(std::move(s.buffered[i]));
    s.buffered.erase(s.buffered.begin(), s.buffered.begin() + static_cast<std::ptrdiff_t>(applied));
    if (!s.evaluated()) {  // before applied_until moves: it tells the first instant
      s.set_evaluated(true);
      segments_.insert(segments_.end(), rules.segments_entering_on_empty.begin(),
                       rules.segments_entering_on_empty.end());
    }
    s.applied_until = now;
    if (s.evaluate_all_at() <= now) {
      s.set_evaluate_all_at(kMaxTime);
      for (uint32_t i = 0; i < rules.segments.size(); ++i) segments_.push_back(i);
    }
    // Often ascending and unique already (one event's states, readers in segment order).
    if (std::adjacent_find(segments_.begin(), segments_.end(), std::greater_equal<>()) !=
        segments_.end()) {
      std::sort(segments_.begin(), segments_.end());
      segments_.erase(std::unique(segments_.begin(), segments_.end()), segments_.end());
    }
    out.set_ingest_cause(cause);
    ++outcome_stamp_;  // outcomes are reused within this instant of this profile only
    for (uint32_t segment : segments_) evaluate(key, s, segment, now, out);
    if (s.cleanup_at != kMinTime && s.cleanup_at <= now) prune_all(s, now);
  }
}

void SegmentsOperator::prune_all(ProfileState& s, int64_t now) {
  s.cleanup_at = kMinTime;
  s.leaves.retain([&](LeafState& st) { return prune_in_place(s, st, now); });
}

bool SegmentsOperator::prune_in_place(ProfileState& s, LeafState& st, int64_t now) const {
  const int64_t ages_out = prune_leaf(config_.rules.leaves[st.id()], st, now);
  if (st.empty()) return false;
  if (ages_out != kMaxTime) s.cleanup_at = std::max(s.cleanup_at, ages_out);
  return true;
}

void SegmentsOperator::rebuild_deadlines(ProfileState& s) {
  ++outcome_stamp_;
  s.deadlines.clear();
  s.cleanup_at = kMinTime;
  std::vector<uint32_t> segments;
  for (const LeafState& st : s.leaves) add_state_readers(st.id(), segments);
  std::sort(segments.begin(), segments.end());
  segments.erase(std::unique(segments.begin(), segments.end()), segments.end());
  for (uint32_t segment : segments) {
    prepare(s, segment, s.applied_until);
    schedule_segment(s, segment, s.applied_until);
  }
  for (const auto& [segment, time] : s.last_exits()) schedule_cooldown_end(s, segment, time);
}

void SegmentsOperator::schedule_cooldown_end(ProfileState& s, uint32_t segment, int64_t exited_at) {
  const int64_t ends = add_time(exited_at, config_.rules.segments[segment].cooldown_ms);
  if (ends > s.applied_until && ends != kMaxTime && !s.is_inside(segment))
    s.add_deadline({ends, static_cast<uint32_t>(config_.rules.segments.size()) + segment});
}

bool SegmentsOperator::evaluate_node(const Segment& segment, uint32_t index) const {
  const ConditionNode& n = segment.nodes[index];
  switch (n.op) {
    case ConditionNode::Op::kLeaf:
      return results_[n.position].holds;
    case ConditionNode::Op::kAll:
      return std::all_of(n.children.begin(), n.children.end(),
                         [&](uint32_t c) { return evaluate_node(segment, c); });
    case ConditionNode::Op::kAny:
      return std::any_of(n.children.begin(), n.children.end(),
                         [&](uint32_t c) { return evaluate_node(segment, c); });
    case ConditionNode::Op::kNot:
      return !evaluate_node(segment, n.children.front());
  }
  return false;
}

std::shared_ptr<const TimeZone> SegmentsOperator::zone(std::string_view name) {
  if (const auto it = zones_.find(name); it != zones_.end()) return it->second;
  auto z = TimeZone::find(name);
  if (zones_.size() < 4096) zones_.emplace(std::string(name), z);
  return z;
}

void SegmentsOperator::prepare(ProfileState& s, uint32_t index, int64_t now) {
  const SegmentRules& rules = config_.rules;
  const Segment& segment = rules.segments[index];
  // The profile's properties only for its profile leaves; local time (a zone lookup and
  // conversion) only for the segments that read it.
  std::optional<ProfileProperties> profile;
  std::shared_ptr<const TimeZone> tz;
  auto properties = [&]() -> const ProfileProperties& {
    if (profile) return *profile;
    const bool local_time = segment.reads_local_time;
    if (local_time)
      if (const ProfileProperty* p = s.property(rules.timezone);
          p != nullptr && p->value.type == ValueType::kString)
        tz = zone(p->value.string.view());
    return profile.emplace(s, rules, tz.get(), local_time);
  };
  results_.clear();
  changes_.clear();
  for (uint32_t id : segment.leaves) {
    const Leaf& leaf = rules.leaves[id];
    if (leaf.kind == LeafKind::kProfile) {
      results_.push_back(evaluate_leaf(leaf, nullptr, properties(), now));
      changes_.push_back(kMaxTime);
      continue;
    }
    const CachedOutcome& cached = outcome(s, id, now);
    results_.push_back(cached.result);
    changes_.push_back(cached.change);
  }
}

const SegmentsOperator::CachedOutcome& SegmentsOperator::outcome(ProfileState& s, uint32_t id,
                                                                 int64_t now) {
  // Leaves sharing an outcome have the same result and next change: computed once per
  // instant (by the first segment reading them), a pure function of the shared state.
  CachedOutcome& cached = routes_[routes_[id].decider].outcome;
  if (cached.stamp == outcome_stamp_) return cached;
  const Leaf& leaf = config_.rules.leaves[id];
  // Entries are dropped lazily: what aged out since the state was last read goes now.
  LeafState* st = s.leaf(leaf.state);
  if (st == nullptr) {
    cached.result = evaluate_leaf(leaf, nullptr, no_properties(), now);  // reads none
    cached.change = kMaxTime;
  } else {
    const LeafOutcome o = prune_and_evaluate(config_.rules.leaves[leaf.state], leaf, *st, now);
    if (st->empty()) {
      s.erase_leaf(leaf.state);
    } else if (o.ages_out != kMaxTime) {
      s.cleanup_at = std::max(s.cleanup_at, o.ages_out);
    }
    cached.result = o.result;
    cached.change = o.change;
  }
  cached.stamp = outcome_stamp_;
  return cached;
}

int64_t SegmentsOperator::node_change(const Segment& segment, uint32_t index) const {
  const ConditionNode& n = segment.nodes[index];
  switch (n.op) {
    case ConditionNode::Op::kLeaf:
      return changes_[n.position];
    case ConditionNode::Op::kNot:
      return node_change(segment, n.children.front());
    case ConditionNode::Op::kAll:
    case ConditionNode::Op::kAny: {
      // `all` true / `any` false changes when any child does. `all` false / `any` true is
      // held there by every child of its value: it cannot change before all of them have.
      const bool value = evaluate_node(segment, index);
      const bool held = (n.op == ConditionNode::Op::kAll) != value;
      int64_t at = held ? kMinTime : kMaxTime;
      for (uint32_t c : n.children) {
        if (!held) {
          at = std::min(at, node_change(segment, c));
        } else if (evaluate_node(segment, c) == value) {
          at = std::max(at, node_change(segment, c));
        }
      }
      return at;
    }
  }
  return kMaxTime;
}

void SegmentsOperator::schedule_segment(ProfileState& s, uint32_t index, int64_t now) {
  const Segment& segment = config_.rules.segments[index];
  int64_t at = node_change(segment, segment.enter);
  if (segment.exit && s.is_inside(index)) {
    // Exits when `exit` holds and `enter` does not: both must change if neither is so.
    const bool exit = evaluate_node(segment, *segment.exit);
    const bool enter = evaluate_node(segment, segment.enter);
    const int64_t exit_at = node_change(segment, *segment.exit);
    if (!exit && enter) {
      at = std::max(at, exit_at);
    } else if (!exit) {
      at = exit_at;
    } else if (!enter) {
      at = std::min(at, exit_at);
    }
  }
  set_deadline(s, index, at, now);
}

void SegmentsOperator::set_deadline(ProfileState& s, uint32_t index, int64_t at, int64_t now) {
  // Instants are after `now` (next_change); a deadline that fired is gone from the set.
  if (at == kMaxTime && s.deadlines.empty()) return;  // none pending, none to set
  if (at <= now) at = add_time(now, 1);
  if (const int64_t pending = s.deadline_of(index); pending != at) {
    if (pending != kMaxTime && at != kMaxTime) {
      s.move_deadline({pending, index}, at);
    } else if (pending != kMaxTime) {
      s.remove_deadline({pending, index});
    } else {
      s.add_deadline({at, index});
    }
  }
}

void SegmentsOperator::evaluate(std::string_view key, ProfileState& s, uint32_t index, int64_t now,
                                Output& out) {
  if (const uint32_t leaf = single_leaf_[index]; leaf != kNoLeaf) {
    // Its leaf's outcome decides: no tree, no scratch (and no read of the Segment).
    const CachedOutcome& o = outcome(s, leaf, now);
    if (change_membership(s, index, now, o.result.holds, true)) {
      results_.assign(1, o.result);
      emit_change(key, s, index, now, out);
    }
    set_deadline(s, index, o.change, now);
    return;
  }
  const Segment& segment = config_.rules.segments[index];
  prepare(s, index, now);
  const bool enter = evaluate_node(segment, segment.enter);
  const bool exit = segment.exit ? evaluate_node(segment, *segment.exit) : true;
  if (change_membership(s, index, now, enter, exit)) emit_change(key, s, index, now, out);
  schedule_segment(s, index, now);
}

bool SegmentsOperator::change_membership(ProfileState& s, uint32_t index, int64_t now, bool enter,
                                         bool exit) {
  const bool inside = s.is_inside(index);
  if (inside ? !exit || enter : !enter) return false;  // the usual case: no rule data read
  const Segment& segment = config_.rules.segments[index];
  bool change = false;
  if (!inside) {
    change = enter;
    if (enter && segment.cooldown_ms > 0) {
      const int64_t exited_at = s.last_exit(index);
      // Too soon: evaluated again when the cool-down ends (a deadline set at the exit).
      if (exited_at != kMinTime && now < add_time(exited_at, segment.cooldown_ms)) change = false;
    }
  } else {
    change = exit && !enter;
  }
  if (!change) return false;
  s.set_inside(index, !inside);
  count_change(index, !inside);
  if (inside && segment.cooldown_ms > 0) {
    s.set_last_exit(index, now);
    schedule_cooldown_end(s, index, now);
  }
  return true;
}

void SegmentsOperator::emit_change(std::string_view key, const ProfileState& s, uint32_t index,
                                   int64_t now, Output& out) {
  const SegmentRules& rules = config_.rules;
  const Segment& segment = rules.segments[index];
  const bool exited = !s.is_inside(index);
  RecordBuilder b = out.add(EventKind::kDerived, key, now, exited ? exited_ : entered_);
  b.set(profile_id_property_, Value::string(key))
      .set(segment_property_, Value::string(segment.name))
      .set(change_property_, exited ? exited_value_ : entered_value_)
      .set(version_property_, Value::integer(segment.version));
  if (config_.emitted_at) b.set(emitted_at_property_, Value::integer(ctx().clock->now_ms()));
  for (size_t i = 0; i < segment.leaves.size(); ++i)
    b.set(rules.leaves[segment.leaves[i]].label_symbol, results_[i].value.as_value());
}

void SegmentsOperator::count_change(uint32_t index, bool entered) {
  SegmentCounts& counts = counts_[index];
  const SegmentMetrics& metrics = segment_metrics_[index];
  if (entered) {
    ++counts.entered;
    ++counts.members;
    metrics.entered->inc();
    metrics.members->add(1);
  } else {
    ++counts.exited;
    --counts.members;
    metrics.exited->inc();
    metrics.members->add(-1);
  }
}

int64_t SegmentsOperator::next_instant(const ProfileState& s) {
  int64_t next =
      std::min(s.evaluate_all_at(), s.buffered.empty() ? kMaxTime : s.buffered.front().time);
  // Aged-out entries are dropped lazily, by the profile's next instant; an instant of their
  // own only when that may leave nothing of the profile (it is then erased).
  if (s.cleanup_at != kMinTime && s.properties.empty() && s.inside.empty())
    next = std::min(next, s.cleanup_at);
  return s.deadlines.empty() ? next : std::min(next, s.deadlines.begin()->time);
}

void SegmentsOperator::schedule(std::string_view key, ProfileState& s) {
  const int64_t want = next_instant(s);
  if (want == s.timer) return;
  s.timer = want;  // a pair of the old time left in due_ is stale
  if (want < horizon_) due_.push(want, key);
}

void SegmentsOperator::ensure_wakeup() {
  if (due_.size() > reschedule_at_) reschedule_all(effective_watermark());
  // Stale pairs on top are dropped, so the engine timer is at a live instant.
  while (!due_.empty()) {
    const ProfileState* s = state_->get(due_.top_key());
    if (s != nullptr && s->timer == due_.top_time()) break;
    due_.pop();
  }
  const int64_t next = std::min(due_.empty() ? kMaxTime : due_.top_time(), horizon_);
  if (next == wakeup_) return;
  TimerService& timers = *ctx().timers;
  if (wakeup_ == kMaxTime) {
    timers.register_timer(TimeDomain::kEventTime, next, "", kWakeupTag);
  } else if (next == kMaxTime) {
    timers.delete_timer(TimeDomain::kEventTime, wakeup_, "", kWakeupTag);
  } else {
    timers.move_timer(TimeDomain::kEventTime, wakeup_, next, "", kWakeupTag);
  }
  wakeup_ = next;
}

void SegmentsOperator::reschedule_all(int64_t now) {
  due_.clear();
  // The horizon: the lower quartile of the pending instants (every one while few are
  // pending), and after `now`, so that the instants up to `now` are queued.
  horizon_ = kMaxTime;
  {
    std::vector<int64_t> times;
    state_->for_each([&](std::string_view, ProfileState& s) {
      if (s.timer != kMaxTime) times.push_back(s.timer);
    });
    if (times.size() > kQueuedAll) {
      const auto quartile = times.begin() + static_cast<std::ptrdiff_t>(times.size() / 4);
      std::nth_element(times.begin(), quartile, times.end());
      horizon_ = std::max(*quartile, add_time(now, 1));
    }
  }
  state_->for_each([&](std::string_view key, ProfileState& s) {
    if (s.timer < horizon_) due_.push(s.timer, key);
  });
  // Up to about as many stale pairs as live ones: the rebuild's cost is spread over as many
  // pushes.
  reschedule_at_ = 2 * due_.size() + 1024;
}

void SegmentsOperator::merge_profile(std::string_view key, const ProfileState& other, Output& out,
                                     int64_t not_before) {
  ProfileState& s = state_->get_or_create(key);
  s.merge(other);
  move_to_state_owners(config_.rules, s);
  rebuild_deadlines(s);
  // Every instant up to the watermark is applied already; the merged profile is evaluated
  // at the next one (or when the profiles were linked, if later).
  advance(key, s, effective_watermark(), out);
  s.set_evaluate_all_at(
      std::max(add_time(std::max(s.applied_until, effective_watermark()), 1), not_before));
  schedule(key, s);
  ensure_wakeup();
}

void SegmentsOperator::export_profile(std::string_view merged, int64_t time, StateWriter& w,
                                      Output& out) {
  ProfileState* s = state_->get(merged);
  if (s == nullptr) {
    ProfileState().write(w);
    return;
  }
  s->timer = kMaxTime;  // its pair in due_ is stale
  const int64_t at = std::max(time, add_time(effective_watermark(), 1));
  const std::vector<uint32_t> inside(s->inside.begin(), s->inside.end());
  for (uint32_t index : inside) {
    s->set_inside(index, false);
    count_change(index, false);
    const Segment& segment = config_.rules.segments[index];
    RecordBuilder b = out.add(EventKind::kDerived, merged, at, exited_);
    b.set(profile_id_property_, Value::string(merged))
        .set(segment_property_, Value::string(segment.name))
        .set(change_property_, exited_value_)
        .set(version_property_, Value::integer(segment.version))
        .set("merged", Value::boolean(true));
    if (config_.emitted_at) b.set(emitted_at_property_, Value::integer(ctx().clock->now_ms()));
  }
  s->write(w);
  state_->erase(merged);
}

void SegmentsOperator::import_profile(std::string_view survivor, std::string_view /*merged*/,
                                      int64_t time, StateReader& r, Output& out) {
  const ProfileState incoming = ProfileState::read(r);
  if (incoming.empty()) return;
  merge_profile(survivor, incoming, out, time);
}

std::vector<std::string> SegmentsOperator::membership(std::string_view key) {
  std::vector<std::string> names;
  if (const ProfileState* s = state_->get(key))
    for (uint32_t i : s->inside) names.push_back(config_.rules.segments[i].name);
  return names;
}

void SegmentsOperator::snapshot(StateWriter& w) const {
  w.u64(kStateFormatVersion);
  write_state(w, watermark_floor_);
  state_->snapshot(w);
}

DeferredSnapshot SegmentsOperator::snapshot_async(StateWriter& w) {
  w.u64(kStateFormatVersion);
  write_state(w, watermark_floor_);
  return state_->snapshot_async();
}

void SegmentsOperator::restore(StateReader& r) {
  const uint64_t version = r.u64();
  if (version == 1)
    throw StateFormatError(
        "segments: state format version 1 (one engine timer per profile) is from an older "
        "build and cannot be restored; this build reads version " +
        std::to_string(kStateFormatVersion));
  if (version != kStateFormatVersion)
    throw StateFormatError("segments: unknown state format version " + std::to_string(version));
  watermark_floor_ = std::max(watermark_floor_, read_state<int64_t>(r));
  state_->restore(r);
  const size_t leaf_count = config_.rules.leaves.size();
  const size_t segment_count = config_.rules.segments.size();
  state_->for_each([&](std::string_view, ProfileState& s) {
    for (const LeafState& st : s.leaves)
      if (st.id() >= leaf_count) throw StateFormatError("segments: state of another rule set");
    for (const PendingEvent& e : s.buffered) {
      for (const LeafFeed& f : e.feeds)
        if (f.leaf >= leaf_count) throw StateFormatError("segments: state of another rule set");
      for (const PropertyUpdate& u : e.updates)
        if (!config_.rules.leaves_by_profile_property.contains(u.name))
          throw StateFormatError("segments: state of another rule set");
    }
    for (const auto& [i, time] : s.last_exits())
      if (i >= segment_count) throw StateFormatError("segments: state of another rule set");
    for (uint32_t i : s.inside) {
      if (i >= segment_count) throw StateFormatError("segments: state of another rule set");
      ++counts_[i].members;
      segment_metrics_[i].members->add(1);
    }
    move_to_state_owners(config_.rules, s);
    rebuild_deadlines(s);
    // process() relies on s.timer being at next_instant(s) or before it.
    s.timer = std::min(s.timer, next_instant(s));
  });
  reschedule_all(effective_watermark());
  ensure_wakeup();
}

}  // namespace segflow

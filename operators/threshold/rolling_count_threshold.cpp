#include "operators/threshold/rolling_count_threshold.h"

#include <algorithm>
#include <optional>
#include <span>

#include "engine/late_event.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("rolling_count_threshold", RollingCountThreshold);

namespace {
constexpr uint64_t kStateFormatVersion = 1;
}  // namespace

RollingCountThreshold::Config RollingCountThreshold::Config::parse(const ConfigNode& node) {
  node.expect_map();
  Config c;
  if (node.has("events")) {
    for (const std::string& name : node.strings("events")) c.events.push_back(intern(name));
    if (c.events.empty()) node.fail_at("events", "'events' must name at least one event");
  }
  c.window_ms = node.duration_ms("window");
  if (c.window_ms <= 0) node.fail_at("window", "'window' must be longer than 0ms");
  c.threshold = node.integer("threshold");
  if (c.threshold < 0)
    node.fail_at("threshold",
                 "'threshold' must be 0 or more, found " + std::to_string(c.threshold));
  if (node.has("segment")) {
    c.segment = node.string("segment");
    if (c.segment.empty()) node.fail_at("segment", "'segment' must not be empty");
  }
  return c;
}

void RollingCountThreshold::ProfileState::write(StateWriter& w) const {
  buffered.write(w);
  counted.write(w);
  write_state(w, inside);
}

RollingCountThreshold::ProfileState RollingCountThreshold::ProfileState::read(StateReader& r) {
  ProfileState s;
  s.buffered = TimeQueue::read(r);
  s.counted = TimeQueue::read(r);
  s.inside = read_state<bool>(r);
  return s;
}

RollingCountThreshold::RollingCountThreshold(const Config& config)
    : config_(config),
      entered_(intern("entered")),
      exited_(intern("exited")),
      segment_property_(intern("segment")),
      count_property_(intern("count")) {}

void RollingCountThreshold::open(OperatorContext& ctx) {
  Operator::open(ctx);
  segment_ = config_.segment.empty() ? ctx.operator_id : config_.segment;
  origin_ = ctx.operator_id + "#" + std::to_string(ctx.subtask);
  state_ = std::make_unique<ValueState<ProfileState>>(ctx.state_scope());
}

bool RollingCountThreshold::matches(SymbolId event) const {
  return config_.events.empty() ||
         std::find(config_.events.begin(), config_.events.end(), event) != config_.events.end();
}

int64_t RollingCountThreshold::effective_watermark() const {
  return std::max(ctx().watermark, watermark_floor_);
}

int64_t RollingCountThreshold::expiry_of(int64_t event_time) const {
  return event_time > kMaxTime - config_.window_ms ? kMaxTime : event_time + config_.window_ms;
}

RollingCountThreshold::Scheduled RollingCountThreshold::scheduled(const ProfileState& s) const {
  Scheduled at;
  if (!s.buffered.empty()) at.apply = s.buffered.front();
  if (!s.counted.empty()) at.expiry = expiry_of(s.counted.front());
  return at;
}

int64_t RollingCountThreshold::due(Scheduled s) {
  if (s.apply == kMinTime) return s.expiry;
  if (s.expiry == kMinTime) return s.apply;
  return std::min(s.apply, s.expiry);
}

void RollingCountThreshold::process(const Batch& in, Output& /*out*/) {
  const int64_t watermark = effective_watermark();
  const std::span<const Record> records = in.records();
  // Looked up a few keys ahead (prefetching their state): in a state larger than the
  // caches, each lookup otherwise waits for a cache miss or two.
  state_->get_or_create_each(
      records.size(),
      [&](size_t i) -> std::optional<std::string_view> {
        const Record& r = records[i];
        if (!matches(r.event)) return std::nullopt;
        if (r.event_time <= watermark) {
          reject_late(r);
          return std::nullopt;
        }
        return r.key;
      },
      [&](size_t i, ProfileState& s) {
        const Record& r = records[i];
        // Only an earlier first buffered event changes when the profile is due.
        if (s.buffered.empty() || r.event_time < s.buffered.front())
          applies_.push(r.event_time, r.key);
        s.buffered.insert(r.event_time);
      });
  reschedule_if_stale();
}

void RollingCountThreshold::on_timer(const Timer& /*timer*/, Output& /*out*/) {
  watermark_floor_ = std::max(watermark_floor_, ctx().watermark);
}

void RollingCountThreshold::on_watermark(int64_t watermark, Output& out) {
  watermark_floor_ = std::max(watermark_floor_, watermark);
  advance_due(watermark, out);
}

int64_t RollingCountThreshold::next_instant() const {
  int64_t next = kMinTime;
  for (const DueQueue* queue : {&applies_, &expiries_})
    if (!queue->empty() && (next == kMinTime || queue->top_time() < next)) next = queue->top_time();
  return next;
}

void RollingCountThreshold::advance_due(int64_t until, Output& out) {
  // Every pair due by `until`, instant by instant, each instant's keys sorted. What advancing
  // a profile queues is later than `until`, so the pairs can all be taken first, and the
  // profiles looked up with prefetching.
  due_keys_.clear();
  due_.clear();
  for (int64_t t = next_instant(); t != kMinTime && t <= until; t = next_instant()) {
    const size_t first = due_.size();
    for (DueQueue* queue : {&applies_, &expiries_}) {
      for (; !queue->empty() && queue->top_time() == t; queue->pop()) {
        const std::string_view key = queue->top_key();
        due_.push_back({t, due_keys_.size(), key.size()});
        due_keys_.append(key);
      }
    }
    if (due_.size() - first > 1)
      std::sort(due_.begin() + static_cast<std::ptrdiff_t>(first), due_.end(),
                [&](const DueKey& a, const DueKey& b) { return key_of(a) < key_of(b); });
  }
  state_->get_each(
      due_.size(),
      [&](size_t i) -> std::optional<std::string_view> {
        // A profile's two pairs at one instant (its next event as its oldest one ages out).
        if (i > 0 && due_[i].time == due_[i - 1].time && key_of(due_[i]) == key_of(due_[i - 1]))
          return std::nullopt;
        return key_of(due_[i]);
      },
      [&](size_t i, ProfileState* s) {
        if (s == nullptr) return;
        const Scheduled was = scheduled(*s);
        if (due(was) != due_[i].time) return;  // a stale pair
        const std::string_view key = key_of(due_[i]);
        advance(key, *s, until, out);
        if (s->empty()) {
          state_->erase(key);
          return;
        }
        schedule(key, was, scheduled(*s));
      });
  reschedule_if_stale();
}

void RollingCountThreshold::advance(std::string_view key, ProfileState& s, int64_t until,
                                    Output& out) {
  const auto threshold = static_cast<uint64_t>(config_.threshold);
  for (;;) {
    const Scheduled at = scheduled(s);
    const bool apply_due = at.apply != kMinTime && at.apply <= until;
    const bool expiry_due = at.expiry != kMinTime && at.expiry <= until;
    if (!apply_due && !expiry_due) return;
    const int64_t now = !apply_due    ? at.expiry
                        : !expiry_due ? at.apply
                                      : std::min(at.apply, at.expiry);
    // Every change at `now` first, then one comparison with the threshold.
    while (!s.counted.empty() && expiry_of(s.counted.front()) <= now) s.counted.pop_front();
    while (!s.buffered.empty() && s.buffered.front() == now) {
      s.buffered.pop_front();
      s.counted.insert(now);
    }
    const size_t count = s.counted.size();
    if (!s.inside && count > threshold) {
      s.inside = true;
      emit(key, now, entered_, count, out);
    } else if (s.inside && count <= threshold) {
      s.inside = false;
      emit(key, now, exited_, count, out);
    }
  }
}

void RollingCountThreshold::schedule(std::string_view key, Scheduled was, Scheduled now) {
  if (now.apply != kMinTime && now.apply != was.apply) applies_.push(now.apply, key);
  if (now.expiry != kMinTime && now.expiry != was.expiry) expiries_.push(now.expiry, key);
}

void RollingCountThreshold::reschedule_if_stale() {
  if (scheduled_pairs() >= reschedule_at_) reschedule_all();
}

void RollingCountThreshold::reschedule_all() {
  applies_.clear();
  expiries_.clear();
  state_->for_each(
      [&](std::string_view key, ProfileState& s) { schedule(key, Scheduled{}, scheduled(s)); });
  // Up to about as many stale pairs as live ones: the rebuild's cost is spread over as many
  // pushes.
  reschedule_at_ = 2 * scheduled_pairs() + 1024;
}

void RollingCountThreshold::emit(std::string_view key, int64_t time, SymbolId event, size_t count,
                                 Output& out) {
  out.add(EventKind::kDerived, key, time, event)
      .set(segment_property_, Value::string(segment_))
      .set(count_property_, Value::integer(static_cast<int64_t>(count)));
}

void RollingCountThreshold::reject_late(const Record& r) {
  ++late_events_;
  send_late_event(ctx().dead_letters, origin_, r, effective_watermark());
}

void RollingCountThreshold::export_profile(std::string_view merged, int64_t time, StateWriter& w,
                                           Output& out) {
  ProfileState* s = state_->get(merged);
  if (s == nullptr) {
    ProfileState().write(w);
    return;
  }
  if (s->inside) {
    const int64_t at = std::max(time, effective_watermark() + 1);
    emit(merged, at, exited_, 0, out);
    s->inside = false;
  }
  s->write(w);
  state_->erase(merged);
}

void RollingCountThreshold::import_profile(std::string_view survivor, std::string_view /*merged*/,
                                           int64_t time, StateReader& r, Output& out) {
  ProfileState incoming = ProfileState::read(r);
  if (incoming.empty()) return;
  const int64_t watermark = effective_watermark();
  ProfileState& s = state_->get_or_create(survivor);
  const Scheduled was = scheduled(s);
  auto take = [&](TimeQueue& q) {
    for (; !q.empty(); q.pop_front()) {
      const int64_t t = q.front();
      if (expiry_of(t) <= watermark) continue;  // aged out here already
      (t <= watermark ? s.counted : s.buffered).insert(t);
    }
  };
  take(incoming.counted);
  take(incoming.buffered);
  schedule(survivor, was, scheduled(s));
  const size_t count = s.counted.size();
  if (!s.inside && count > static_cast<uint64_t>(config_.threshold)) {
    s.inside = true;
    emit(survivor, std::max(time, watermark + 1), entered_, count, out);
  }
  if (s.empty()) state_->erase(survivor);
}

void RollingCountThreshold::snapshot(StateWriter& w) const {
  w.u64(kStateFormatVersion);
  write_state(w, watermark_floor_);
  state_->snapshot(w);
}

DeferredSnapshot RollingCountThreshold::snapshot_async(StateWriter& w) {
  w.u64(kStateFormatVersion);
  write_state(w, watermark_floor_);
  return state_->snapshot_async();
}

void RollingCountThreshold::restore(StateReader& r) {
  const uint64_t version = r.u64();
  if (version != kStateFormatVersion)
    throw StateFormatError("rolling_count_threshold: unknown state format version " +
                           std::to_string(version));
  // Restoring several old subtasks' snapshots (rescaling): the highest floor keeps every
  // restored profile's applied window from going back.
  watermark_floor_ = std::max(watermark_floor_, read_state<int64_t>(r));
  state_->restore(r);
  reschedule_all();
}

}  // namespace segflow

#include "operators/threshold/rolling_count_threshold.h"

#include <algorithm>

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

RollingCountThreshold::DueTimes RollingCountThreshold::due_times(const ProfileState& s) const {
  DueTimes due;
  if (!s.buffered.empty()) due.apply = s.buffered.front();
  if (!s.counted.empty()) due.expiry = expiry_of(s.counted.front());
  return due;
}

std::optional<int64_t> RollingCountThreshold::next_due(const ProfileState& s) const {
  const DueTimes due = due_times(s);
  if (!due.apply) return due.expiry;
  if (!due.expiry) return due.apply;
  return std::min(*due.apply, *due.expiry);
}

void RollingCountThreshold::process(const Batch& in, Output& /*out*/) {
  const int64_t watermark = effective_watermark();
  for (const Record& r : in.records()) {
    if (!matches(r.event)) continue;
    if (r.event_time <= watermark) {
      reject_late(r);
      continue;
    }
    ProfileState& s = state_->get_or_create(r.key);
    const std::optional<int64_t> before = next_due(s);
    s.buffered.insert(r.event_time);
    retime(r.key, before, next_due(s), nullptr);
  }
}

void RollingCountThreshold::on_timer(const Timer& timer, Output& out) {
  watermark_floor_ = std::max(watermark_floor_, ctx().watermark);
  ProfileState* s = state_->get(timer.key);
  if (s == nullptr) return;
  const std::optional<int64_t> before = next_due(*s);
  advance(timer.key, *s, ctx().watermark, out);
  retime(timer.key, before, next_due(*s), &timer);
  if (s->empty()) state_->erase(timer.key);
}

void RollingCountThreshold::on_watermark(int64_t watermark, Output& /*out*/) {
  watermark_floor_ = std::max(watermark_floor_, watermark);
}

void RollingCountThreshold::advance(std::string_view key, ProfileState& s, int64_t until,
                                    Output& out) {
  const auto threshold = static_cast<uint64_t>(config_.threshold);
  for (;;) {
    const DueTimes due = due_times(s);
    const bool apply_due = due.apply && *due.apply <= until;
    const bool expiry_due = due.expiry && *due.expiry <= until;
    if (!apply_due && !expiry_due) return;
    const int64_t now = !apply_due    ? *due.expiry
                        : !expiry_due ? *due.apply
                                      : std::min(*due.apply, *due.expiry);
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

void RollingCountThreshold::retime(std::string_view key, std::optional<int64_t> before,
                                   std::optional<int64_t> after, const Timer* fired) {
  const bool before_pending =
      before && !(fired != nullptr && fired->tag == kDueTimer && fired->time == *before);
  if (before_pending && after == before) return;  // still due then: the timer stands
  TimerService& timers = *ctx().timers;
  if (before_pending && after) {
    timers.move_timer(TimeDomain::kEventTime, *before, *after, key, kDueTimer);
    return;
  }
  if (before_pending) timers.delete_timer(TimeDomain::kEventTime, *before, key, kDueTimer);
  if (after) timers.register_timer(TimeDomain::kEventTime, *after, key, kDueTimer);
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
  retime(merged, next_due(*s), std::nullopt, nullptr);
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
  const std::optional<int64_t> before = next_due(s);
  auto take = [&](TimeQueue& q) {
    for (; !q.empty(); q.pop_front()) {
      const int64_t t = q.front();
      if (expiry_of(t) <= watermark) continue;  // aged out here already
      (t <= watermark ? s.counted : s.buffered).insert(t);
    }
  };
  take(incoming.counted);
  take(incoming.buffered);
  retime(survivor, before, next_due(s), nullptr);
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
}

}  // namespace segflow

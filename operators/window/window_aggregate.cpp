#include "operators/window/window_aggregate.h"

#include <algorithm>
#include <optional>

#include "engine/json_text.h"
#include "engine/late_event.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("window", WindowAggregate);

namespace {

// 2: 24-byte accumulators (accumulator.h). Version 1 snapshots are refused.
constexpr uint64_t kStateFormatVersion = 2;
// A timer due for at least 1/kSweepFraction of the profiles sweeps the whole state (one
// sequential pass) instead of looking each one up (random accesses into a large table).
constexpr size_t kSweepFraction = 8;

// a + b for b >= 0, saturating at kMaxTime.
int64_t sat_add(int64_t a, int64_t b) { return a > kMaxTime - b ? kMaxTime : a + b; }

}  // namespace

WindowAggregate::WindowAggregate(const Config& config)
    : config_(config),
      window_start_(intern("window_start")),
      window_end_(intern("window_end")),
      slide_is_pane_(config.kind != WindowKind::kSession && config.pane_ms == config.slide_ms) {}

void WindowAggregate::open(OperatorContext& ctx) {
  Operator::open(ctx);
  name_ = intern(config_.name.empty() ? ctx.operator_id : config_.name);
  origin_ = ctx.operator_id + "#" + std::to_string(ctx.subtask);
  state_ = std::make_unique<ValueState<KeyWindows>>(ctx.state_scope());
}

bool WindowAggregate::matches(SymbolId event) const {
  return config_.events.empty() ||
         std::find(config_.events.begin(), config_.events.end(), event) != config_.events.end();
}

int64_t WindowAggregate::effective_watermark() const {
  return std::max(ctx().watermark, watermark_floor_);
}

void WindowAggregate::add_values(Accumulators& accs, const Batch& in, const Record& r) {
  config_.add(accs, in, r, seq_++);
}

void WindowAggregate::process(const Batch& in, Output& out) {
  const int64_t wm = effective_watermark();
  const auto records = in.records();
  // A combiner's partial record, or an event this operator takes.
  const auto key_of = [&](size_t i) -> std::optional<std::string_view> {
    const Record& r = records[i];
    if ((config_.combine && partials_.is_partial(r)) || matches(r.event)) return r.key;
    return std::nullopt;
  };
  // The state of a batch's profiles is looked up with prefetching (keyed_state.h): with many
  // profiles, those lookups are most of the operator's time.
  state_->get_or_create_each(records.size(), key_of, [&](size_t i, KeyWindows& k) {
    const Record& r = records[i];
    const Accumulators* partial = nullptr;
    if (config_.combine && partials_.is_partial(r)) {
      if (!partials_.read(in, r, config_.aggregates.size(), partial_)) {
        reject_malformed_partial(r);
        retime(r.key, k);  // drops k when it was created for this record
        return;
      }
      rebase_arrival(partial_);
      partial = &partial_;
    }
    if (config_.kind == WindowKind::kSession) {
      if (!add_to_session(r.key, k, in, r, wm, out)) reject_late(r);
      retime(r.key, k);
      return;
    }
    // The pane timer depends on the panes there are and next_start only: most events add
    // to a pane that exists and leave it as it is.
    const size_t panes = k.panes.size();
    const int64_t next_start = k.next_start;
    if (!add_to_pane(k, in, r, partial, wm, out)) reject_late(r);
    if (k.timer == kNoTimer || k.panes.size() != panes || k.next_start != next_start)
      retime(r.key, k);
  });
}

void WindowAggregate::on_timer(const Timer& timer, Output& out) {
  watermark_floor_ = std::max(watermark_floor_, ctx().watermark);
  auto node = due_.extract(timer.time);
  if (node.empty()) return;
  if (node.mapped().sweep || node.mapped().keys.size() * kSweepFraction >= state_->size()) {
    state_->update_or_erase([&](std::string_view key, KeyWindows& k) {
      if (k.timer != timer.time) return false;
      k.timer = kNoTimer;
      fire_windows(key, k, out);
      schedule(key, k);
      return k.empty();
    });
    return;
  }
  for (const std::string& key : node.mapped().keys) {
    KeyWindows* k = state_->get(key);
    if (k == nullptr || k->timer != timer.time) continue;  // moved or gone since
    k->timer = kNoTimer;
    fire_windows(key, *k, out);
    retime(key, *k);
  }
}

void WindowAggregate::fire_windows(std::string_view key, KeyWindows& k, Output& out) {
  const int64_t wm = effective_watermark();
  if (config_.kind == WindowKind::kSession) {
    fire_sessions(key, k, wm, out);
  } else {
    fire_panes(key, k, wm, out);
  }
}

void WindowAggregate::on_watermark(int64_t watermark, Output& /*out*/) {
  watermark_floor_ = std::max(watermark_floor_, watermark);
}

// --- tumbling and sliding windows, from panes ---------------------------------------------

bool WindowAggregate::add_to_pane(KeyWindows& k, const Batch& in, const Record& r,
                                  const Accumulators* partial, int64_t wm, Output& out) {
  const int64_t t = r.event_time;
  const int64_t size = config_.size_ms;
  const int64_t slide = config_.slide_ms;
  const int64_t lateness = config_.allowed_lateness_ms;
  const int64_t pane_start = pane_of(t);
  const int64_t last_start = slide_start(pane_start);  // of the last window holding t
  if (sat_add(last_start + size - 1, lateness) <= wm) return false;
  // Every window ending at or before the watermark has fired already (timers come first).
  if (wm != kMinTime) k.next_start = std::max(k.next_start, first_open_start(wm));
  // Events come mostly in order: most go to the newest pane.
  Pane* it = k.panes.lower_bound(pane_start);
  if (it == k.panes.end() || it->start != pane_start) {
    it = k.panes.emplace(it);
    it->start = pane_start;
    it->accs = config_.fresh();
  }
  if (partial != nullptr)
    config_.merge(it->accs, *partial);
  else
    add_values(it->accs, in, r);
  // Cached partial merges covering this pane are stale now.
  if (k.cache) {
    const int64_t block = floor_to(pane_start, size);
    if (k.cache->suffix_block == block) k.cache->suffix_block = kMinTime;
    if (k.cache->prefix_block == block && pane_start < k.cache->prefix_end)
      k.cache->prefix_block = kMinTime;
  }
  if (lateness > 0) {
    // Windows of this event that fired already but are within allowed lateness: fire again.
    for (int64_t s = floor_to(t - size, slide) + slide; s <= last_start; s += slide) {
      if (s + size - 1 <= wm && sat_add(s + size - 1, lateness) > wm) {
        emit_window(r.key, k, s, wm + 1, out);
        ++late_firings_;
      }
    }
  }
  return true;
}

int64_t WindowAggregate::pane_of(int64_t t) {
  if (!pane_cached_ || static_cast<uint64_t>(t) - static_cast<uint64_t>(cached_pane_) >=
                           static_cast<uint64_t>(config_.pane_ms)) {
    cached_pane_ = floor_to(t, config_.pane_ms);
    pane_cached_ = true;
  }
  return cached_pane_;
}

int64_t WindowAggregate::slide_start(int64_t pane_start) const {
  return slide_is_pane_ ? pane_start : floor_to(pane_start, config_.slide_ms);
}

int64_t WindowAggregate::first_window_start(int64_t pane_start) const {
  if (slide_is_pane_) return pane_start - config_.size_ms + config_.slide_ms;
  return floor_to(pane_start - config_.size_ms, config_.slide_ms) + config_.slide_ms;
}

int64_t WindowAggregate::first_open_start(int64_t wm) {
  if (wm != cached_wm_) {
    cached_wm_ = wm;
    cached_open_start_ = floor_to(wm + 1 - config_.size_ms, config_.slide_ms) + config_.slide_ms;
  }
  return cached_open_start_;
}

size_t WindowAggregate::first_live_pane(const KeyWindows& k, size_t from) const {
  while (from < k.panes.size() && slide_start(k.panes[from].start) < k.next_start) ++from;
  return from;
}

void WindowAggregate::fire_panes(std::string_view key, KeyWindows& k, int64_t wm, Output& out) {
  const int64_t size = config_.size_ms;
  const int64_t slide = config_.slide_ms;
  size_t i = 0;
  for (;;) {
    i = first_live_pane(k, i);
    if (i == k.panes.size()) break;
    const int64_t start = std::max(k.next_start, first_window_start(k.panes[i].start));
    if (start + size - 1 > wm) break;
    emit_window(key, k, start, start + size - 1, out);
    k.next_start = start + slide;
  }
  drop_expired_panes(k, wm);
}

// Drops panes whose last window is past its allowed lateness.
void WindowAggregate::drop_expired_panes(KeyWindows& k, int64_t wm) const {
  size_t expired = 0;
  while (expired < k.panes.size() &&
         sat_add(slide_start(k.panes[expired].start) + config_.size_ms - 1,
                 config_.allowed_lateness_ms) <= wm)
    ++expired;
  k.panes.pop_front(expired);
}

int64_t WindowAggregate::pane_timer(const KeyWindows& k) const {
  if (k.panes.empty()) return kNoTimer;
  const int64_t size = config_.size_ms;
  int64_t due = sat_add(slide_start(k.panes.front().start) + size - 1, config_.allowed_lateness_ms);
  const size_t i = first_live_pane(k, 0);
  if (i < k.panes.size()) {
    const int64_t start = std::max(k.next_start, first_window_start(k.panes[i].start));
    due = std::min(due, start + size - 1);
  }
  return due;
}

void WindowAggregate::emit_window(std::string_view key, KeyWindows& k, int64_t start, int64_t time,
                                  Output& out) {
  emit(key, time, start, start + config_.size_ms, window_result(k, start), out);
}

void WindowAggregate::merge_range(Accumulators& into, const KeyWindows& k, int64_t start,
                                  int64_t end) const {
  for (const Pane* it = k.panes.lower_bound(start); it != k.panes.end() && it->start < end; ++it)
    config_.merge(into, it->accs);
}

Accumulators WindowAggregate::window_result(KeyWindows& k, int64_t start) const {
  const int64_t size = config_.size_ms;
  const int64_t end = start + size;
  const int64_t block = floor_to(start, size);
  constexpr int64_t kCacheFrom = 8;  // panes per window below which merging is as cheap
  if (config_.slide_ms == size || size / config_.pane_ms < kCacheFrom || block == start) {
    Accumulators accs = config_.fresh();
    merge_range(accs, k, start, end);
    return accs;
  }
  const int64_t next_block = block + size;
  if (!k.cache) k.cache = std::make_unique<KeyWindows::SlideCache>();
  KeyWindows::SlideCache& c = *k.cache;
  if (c.suffix_block != block) {
    c.suffix.clear();
    Accumulators running = config_.fresh();
    const Pane* it = k.panes.lower_bound(next_block);
    while (it != k.panes.begin() && std::prev(it)->start >= block) {
      --it;
      config_.merge(running, it->accs);
      c.suffix.emplace_back(it->start, running);
    }
    std::reverse(c.suffix.begin(), c.suffix.end());
    c.suffix_block = block;
  }
  const auto from = std::lower_bound(
      c.suffix.begin(), c.suffix.end(), start,
      [](const std::pair<int64_t, Accumulators>& e, int64_t s) { return e.first < s; });
  Accumulators accs = from != c.suffix.end() ? from->second : config_.fresh();
  if (c.prefix_block != next_block || c.prefix_end > end) {
    c.prefix_block = next_block;
    c.prefix_end = next_block;
    c.prefix = config_.fresh();
  }
  merge_range(c.prefix, k, c.prefix_end, end);
  c.prefix_end = end;
  config_.merge(accs, c.prefix);
  return accs;
}

// --- session windows ------------------------------------------------------------------------

bool WindowAggregate::add_to_session(std::string_view key, KeyWindows& k, const Batch& in,
                                     const Record& r, int64_t wm, Output& out) {
  const int64_t t = r.event_time;
  const int64_t end = sat_add(t, config_.gap_ms);
  std::vector<Session>& sessions = k.sessions();
  // Sessions overlapping or touching [t, end) form one run [first, last).
  auto first = std::lower_bound(sessions.begin(), sessions.end(), t,
                                [](const Session& s, int64_t time) { return s.end < time; });
  auto last = first;
  while (last != sessions.end() && last->start <= end) ++last;
  int64_t merged_start = t;
  int64_t merged_end = end;
  for (auto s = first; s != last; ++s) {
    merged_start = std::min(merged_start, s->start);
    merged_end = std::max(merged_end, s->end);
  }
  if (sat_add(merged_end - 1, config_.allowed_lateness_ms) <= wm) return false;
  Session merged{merged_start, merged_end, false, config_.fresh()};
  for (auto s = first; s != last; ++s) config_.merge(merged.accs, s->accs);
  add_values(merged.accs, in, r);
  if (merged_end - 1 <= wm) {
    // The session fired (or would have) already: fire it again now, within allowed lateness.
    emit(key, wm + 1, merged_start, merged_end, merged.accs, out);
    merged.fired = true;
    ++late_firings_;
  }
  const auto at = sessions.erase(first, last);
  sessions.insert(at, std::move(merged));
  return true;
}

void WindowAggregate::fire_sessions(std::string_view key, KeyWindows& k, int64_t wm, Output& out) {
  for (Session& s : k.sessions()) {
    if (!s.fired && s.end - 1 <= wm) {
      emit(key, s.end - 1, s.start, s.end, s.accs, out);
      s.fired = true;
    }
  }
  std::erase_if(k.sessions(), [&](const Session& s) {
    return s.fired && sat_add(s.end - 1, config_.allowed_lateness_ms) <= wm;
  });
}

int64_t WindowAggregate::session_timer(const KeyWindows& k) const {
  int64_t due = kNoTimer;
  for (const Session& s : k.sessions()) {
    const int64_t at = s.fired ? sat_add(s.end - 1, config_.allowed_lateness_ms) : s.end - 1;
    if (due == kNoTimer || at < due) due = at;
  }
  return due;
}

// --- identity merges ------------------------------------------------------------------------

void WindowAggregate::export_profile(std::string_view merged, int64_t /*time*/, StateWriter& w,
                                     Output& /*out*/) {
  KeyWindows* k = state_->get(merged);
  if (k == nullptr) {
    KeyWindows().write(w);
    return;
  }
  k->write(w);
  // Its pending timer finds no state and does nothing.
  state_->erase(merged);
}

void WindowAggregate::import_profile(std::string_view survivor, std::string_view /*merged*/,
                                     int64_t time, StateReader& r, Output& out) {
  KeyWindows incoming = KeyWindows::read(r);
  const size_t n = config_.aggregates.size();
  for (const Pane& p : incoming.panes)
    if (p.accs.size() != n) return;
  for (const Session& s : incoming.sessions())
    if (s.accs.size() != n) return;
  if (incoming.empty()) return;
  const int64_t wm = effective_watermark();
  const int64_t at = std::max(time, wm + 1);
  KeyWindows& k = state_->get_or_create(survivor);
  if (config_.kind == WindowKind::kSession)
    import_sessions(survivor, k, incoming, wm, at, out);
  else
    import_panes(survivor, k, incoming, wm, at, out);
  retime(survivor, k);
}

void WindowAggregate::import_panes(std::string_view key, KeyWindows& k, const KeyWindows& incoming,
                                   int64_t wm, int64_t at, Output& out) {
  const int64_t size = config_.size_ms;
  const int64_t slide = config_.slide_ms;
  k.cache.reset();
  std::vector<int64_t> ended;  // starts of the ended windows to emit
  for (const Pane& p : incoming.panes) {
    for (int64_t s = floor_to(p.start - size, slide) + slide; s <= floor_to(p.start, slide);
         s += slide) {
      if (s + size - 1 > wm) continue;  // still open: fires as usual
      if (s >= incoming.next_start || sat_add(s + size - 1, config_.allowed_lateness_ms) > wm)
        ended.push_back(s);
    }
    Pane* it = k.panes.lower_bound(p.start);
    if (it == k.panes.end() || it->start != p.start)
      k.panes.insert(it, p);
    else
      config_.merge(it->accs, p.accs);
  }
  std::sort(ended.begin(), ended.end());
  ended.erase(std::unique(ended.begin(), ended.end()), ended.end());
  for (int64_t s : ended) emit_window(key, k, s, at, out);
  // Every window that ended is emitted now or was before.
  if (wm != kMinTime) k.next_start = std::max(k.next_start, floor_to(wm + 1 - size, slide) + slide);
  drop_expired_panes(k, wm);
}

void WindowAggregate::import_sessions(std::string_view key, KeyWindows& k, KeyWindows& incoming,
                                      int64_t wm, int64_t at, Output& out) {
  struct Part {
    Session session;
    bool incoming = false;
  };
  std::vector<Part> parts;
  for (Session& s : k.sessions()) parts.push_back({std::move(s), false});
  for (Session& s : incoming.sessions()) parts.push_back({std::move(s), true});
  std::sort(parts.begin(), parts.end(),
            [](const Part& a, const Part& b) { return a.session.start < b.session.start; });
  k.sessions().clear();
  for (size_t i = 0; i < parts.size();) {
    // A run of sessions that overlap or touch, as add_to_session merges them.
    Session merged{parts[i].session.start, parts[i].session.end, true, config_.fresh()};
    bool changed = false;  // holds a part of the merged-away profile
    bool all_fired = true;
    size_t j = i;
    for (; j < parts.size() && parts[j].session.start <= merged.end; ++j) {
      merged.end = std::max(merged.end, parts[j].session.end);
      config_.merge(merged.accs, parts[j].session.accs);
      changed = changed || parts[j].incoming;
      all_fired = all_fired && parts[j].session.fired;
    }
    if (!changed && j == i + 1) {
      k.sessions().push_back(std::move(parts[i].session));
    } else if (merged.end - 1 <= wm) {
      // Ended: emit unless every part fired and the merge is past allowed lateness.
      if (!all_fired || sat_add(merged.end - 1, config_.allowed_lateness_ms) > wm)
        emit(key, at, merged.start, merged.end, merged.accs, out);
      k.sessions().push_back(std::move(merged));
    } else {
      merged.fired = false;
      k.sessions().push_back(std::move(merged));
    }
    i = j;
  }
  std::erase_if(k.sessions(), [&](const Session& s) {
    return s.fired && sat_add(s.end - 1, config_.allowed_lateness_ms) <= wm;
  });
}

// --- output, timers, late data, state -------------------------------------------------------

void WindowAggregate::emit(std::string_view key, int64_t time, int64_t start, int64_t end,
                           const Accumulators& accs, Output& out) {
  RecordBuilder b = out.add(EventKind::kDerived, key, time, name_);
  b.set(window_start_, Value::integer(start)).set(window_end_, Value::integer(end));
  for (size_t i = 0; i < config_.aggregates.size(); ++i)
    b.set(config_.aggregates[i].name_symbol, accs[i].result(config_.aggregates[i].fn));
}

void WindowAggregate::retime(std::string_view key, KeyWindows& k) {
  schedule(key, k);
  if (k.empty()) state_->erase(key);
}

void WindowAggregate::schedule(std::string_view key, KeyWindows& k) {
  const int64_t due = config_.kind == WindowKind::kSession ? session_timer(k) : pane_timer(k);
  if (due != k.timer) {
    k.timer = due;
    if (due != kNoTimer) add_due(due, key);
  }
}

void WindowAggregate::reject_malformed_partial(const Record& r) {
  ++malformed_partials_;
  if (ctx().dead_letters == nullptr) return;
  std::string payload = "{\"profile\":";
  append_json_string(payload, r.key);
  payload += ",\"event_time\":" + std::to_string(r.event_time) + "}";
  ctx().dead_letters->send(origin_, kMalformedPartialReason, payload);
}

void WindowAggregate::rebase_arrival(Accumulators& accs) {
  // The partial's events arrive now, in the order the combiner saw them: first/last ties
  // against what this operator holds go by this operator's arrival counter.
  const uint64_t seq = seq_++;
  for (Accumulator& a : accs) {
    if (Accumulator::Extra* x = a.extra()) {
      x->first_seq = seq;
      x->last_seq = seq;
    }
  }
}

void WindowAggregate::add_due(int64_t time, std::string_view key) {
  auto [it, added] = due_.try_emplace(time);
  if (added) ctx().timers->register_timer(TimeDomain::kEventTime, time, "");
  Due& due = it->second;
  if (due.sweep) return;
  due.keys.emplace_back(key);
  // Checked now and then: state_->size() adds up the key groups.
  constexpr size_t kCheckEvery = 1024;
  if (due.keys.size() % kCheckEvery == 0 && due.keys.size() * kSweepFraction >= state_->size()) {
    due.sweep = true;
    std::vector<std::string>().swap(due.keys);
  }
}

void WindowAggregate::reject_late(const Record& r) {
  ++late_events_;
  send_late_event(ctx().dead_letters, origin_, r, effective_watermark());
}

void WindowAggregate::snapshot(StateWriter& w) const {
  w.u64(kStateFormatVersion);
  write_state(w, watermark_floor_);
  write_state(w, seq_);
  state_->snapshot(w);
}

DeferredSnapshot WindowAggregate::snapshot_async(StateWriter& w) {
  w.u64(kStateFormatVersion);
  write_state(w, watermark_floor_);
  write_state(w, seq_);
  return state_->snapshot_async();
}

void WindowAggregate::restore(StateReader& r) {
  const uint64_t version = r.u64();
  if (version != kStateFormatVersion)
    throw StateFormatError("window: unknown state format version " + std::to_string(version));
  watermark_floor_ = std::max(watermark_floor_, read_state<int64_t>(r));
  seq_ = std::max(seq_, read_state<uint64_t>(r));
  state_->restore(r);
  state_->for_each([&](std::string_view key, KeyWindows& k) {
    if (k.timer != kNoTimer) add_due(k.timer, key);
  });
}

}  // namespace segflow

#include "operators/window/rolling_aggregate.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "engine/late_event.h"
#include "engine/registry.h"
#include "operators/window/distinct_counter.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("rolling", RollingAggregate);

namespace {

// 3: profiles as RollingEvents (2: rows of 64-bit times and values).
constexpr uint64_t kStateFormatVersion = 3;
constexpr int64_t kNone = kMinTime;
constexpr int kMaxFilteredTraits = 32;

// The same value (NaN equal to NaN).
bool same(const StoredValue& a, const StoredValue& b) {
  return a.type == b.type && a.i == b.i && std::memcmp(&a.d, &b.d, sizeof a.d) == 0 && a.s == b.s;
}
bool same(const RollingAggregate::Values& a, const RollingAggregate::Values& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const StoredValue& x, const StoredValue& y) { return same(x, y); });
}

// Sets `v` in place (its string's buffer kept for the next time).
void set_null(StoredValue& v) {
  v.type = ValueType::kNull;
  v.i = 0;
  v.d = 0;
  v.s.clear();
}
void set_integer(StoredValue& v, int64_t i) {
  set_null(v);
  v.type = ValueType::kInt;
  v.i = i;
}
void set_real(StoredValue& v, double d) {
  set_null(v);
  v.type = ValueType::kDouble;
  v.d = d;
}

bool uses_numbers(AggregateFn fn) {
  return fn != AggregateFn::kFirst && fn != AggregateFn::kLast && fn != AggregateFn::kCountDistinct;
}

// Adds `property` to `list` unless there; its index.
int slot_of(std::vector<SymbolId>& list, SymbolId property) {
  const auto at = std::find(list.begin(), list.end(), property);
  if (at == list.end()) list.push_back(property);
  return static_cast<int>(std::find(list.begin(), list.end(), property) - list.begin());
}

}  // namespace

RollingAggregate::Config RollingAggregate::Config::parse(const ConfigNode& node) {
  node.expect_map();
  Config c;
  c.window_ms = node.duration_ms("window");
  if (c.window_ms <= 0) node.fail_at("window", "'window' must be longer than 0ms");
  c.allowed_lateness_ms = node.duration_ms("allowed_lateness", 0);
  if (c.allowed_lateness_ms < 0)
    node.fail_at("allowed_lateness", "'allowed_lateness' must be 0 or more");
  c.forward = node.boolean("forward", false);
  const std::string prefix = node.string("prefix", c.forward ? "computed." : "");
  static const std::map<std::string, AggregateFn> fns = {
      {"count", AggregateFn::kCount}, {"sum", AggregateFn::kSum},
      {"min", AggregateFn::kMin},     {"max", AggregateFn::kMax},
      {"avg", AggregateFn::kAvg},     {"first", AggregateFn::kFirst},
      {"last", AggregateFn::kLast},   {"count_distinct", AggregateFn::kCountDistinct}};
  for (const ConfigNode& t : node.list("traits")) {
    t.expect_map();
    Trait trait;
    trait.name = t.string("name");
    if (trait.name.empty()) t.fail_at("name", "'name' must not be empty");
    for (const Trait& other : c.traits)
      if (other.name == trait.name)
        t.fail_at("name", "trait '" + trait.name + "' is defined twice");
    trait.output = intern(prefix + trait.name);
    const std::string fn = t.string("fn");
    const auto it = fns.find(fn);
    if (it == fns.end())
      t.fail_at("fn", "unknown rolling aggregate '" + fn +
                          "' (expected count, sum, min, max, avg, first, last or count_distinct)");
    trait.fn = it->second;
    if (t.has("property")) {
      const std::string property = t.string("property");
      if (property.empty()) t.fail_at("property", "'property' must not be empty");
      trait.property = intern(property);
      trait.slot =
          slot_of(uses_numbers(trait.fn) ? c.numeric_properties : c.raw_properties, trait.property);
    } else if (trait.fn != AggregateFn::kCount) {
      t.fail("rolling aggregate '" + fn + "' needs a 'property'");
    }
    trait.filter = EventFilter::parse(t);
    if (!trait.filter.always()) {
      if (c.filter_bits == kMaxFilteredTraits)
        t.fail("at most " + std::to_string(kMaxFilteredTraits) +
               " traits of one operator can have their own 'events' or 'where'");
      trait.filter_bit = c.filter_bits++;
    }
    t.finish();
    c.traits.push_back(std::move(trait));
  }
  if (c.traits.empty()) node.fail_at("traits", "'traits' must list at least one");
  c.filter = EventFilter::parse(node);
  if (node.has("name")) {
    c.name = node.string("name");
    if (c.name.empty()) node.fail_at("name", "'name' must not be empty");
  }
  return c;
}

RollingAggregate::RollingAggregate(const Config& config)
    : config_(config),
      layout_{static_cast<uint32_t>(config.numeric_properties.size()),
              static_cast<uint32_t>(config.raw_properties.size()), config.filter_bits > 0},
      shared_slots_(config.numeric_properties.size(), false) {
  for (const Trait& t : config.traits)
    if (!own_stats(t) && uses_numbers(t.fn)) shared_slots_[static_cast<size_t>(t.slot)] = true;
}

void RollingAggregate::open(OperatorContext& ctx) {
  Operator::open(ctx);
  name_ = intern(config_.name.empty() ? ctx.operator_id : config_.name);
  origin_ = ctx.operator_id + "#" + std::to_string(ctx.subtask);
  state_ = std::make_unique<ValueState<Profile>>(ctx.state_scope());
}

int64_t RollingAggregate::effective_watermark() const {
  return std::max(ctx().watermark, watermark_floor_);
}

void RollingAggregate::load(const Profile& p, EventList& out) const {
  if (!p.decode(layout_, out))
    throw StateFormatError("rolling: a profile's events do not decode with this operator's traits");
}

void RollingAggregate::event_of(const Batch& in, const Record& r, EventList& out) const {
  out.clear();
  out.times.push_back(r.event_time);
  for (SymbolId property : config_.numeric_properties) {
    const Value* v = in.find(r, property);
    const auto number = v != nullptr ? v->number() : std::nullopt;
    out.numbers.push_back(number ? *number : std::numeric_limits<double>::quiet_NaN());
  }
  for (SymbolId property : config_.raw_properties) {
    const Value* v = in.find(r, property);
    out.raws.push_back(v == nullptr ? RawValue{} : RawValue::of(*v));
  }
  if (layout_.masks) {
    uint32_t mask = 0;
    for (const Trait& t : config_.traits)
      if (t.filter_bit >= 0 && t.filter.passes(in, r)) mask |= uint32_t{1} << t.filter_bit;
    out.masks.push_back(mask);
  }
}

void RollingAggregate::process(const Batch& in, Output& out) {
  const int64_t wm = effective_watermark();
  for (const Record& r : in.records()) {
    if (config_.filter.passes(in, r)) {
      if (r.event_time > wm) {
        event_of(in, r, incoming_);
        Profile& p = state_->get_or_create(r.key);
        RollingEvents::Summary s;
        if (p.append_in_order(layout_, incoming_, 0, s, append_scratch_)) {
          // In time order, the usual case: one event encoded, the others only read.
          const Scheduled was{s.first_buffered, s.applied > 0 ? expiry_of(s.first) : kNone};
          const Scheduled now{s.applied < s.count ? s.first_buffered : r.event_time, was.expiry};
          schedule(r.key, now, was);
        } else {
          load(p, events_);
          const Scheduled was = scheduled(events_);
          events_.insert(layout_, incoming_, 0);
          store(r.key, p, events_, was);
        }
      } else if (wm < kMinTime + config_.allowed_lateness_ms ||
                 r.event_time > wm - config_.allowed_lateness_ms) {
        ++late_accepted_;
        event_of(in, r, incoming_);
        insert_applied(r.key, incoming_, wm + 1, out);
      } else {
        reject_late(r);
      }
    }
    if (config_.forward) forward(in, r, out);
  }
  ensure_wakeup();
}

void RollingAggregate::forward(const Batch& in, const Record& r, Output& out) {
  HeldRecord h;
  h.kind = r.kind;
  h.key = std::string(r.key);
  h.event = r.event;
  for (const Property& p : in.properties(r)) {
    const bool replaced = std::any_of(config_.traits.begin(), config_.traits.end(),
                                      [&](const Trait& t) { return t.output == p.name; });
    if (!replaced) h.properties.emplace_back(p.name, StoredValue::of(p.value));
  }
  if (r.event_time > effective_watermark()) {
    held_[r.event_time].push_back(std::move(h));  // process() then ensures a wakeup
    return;
  }
  emit_held(h, r.event_time, current_values(r.key), out);
}

RollingAggregate::Values RollingAggregate::current_values(std::string_view key) {
  const Profile* p = state_->get(key);
  if (p != nullptr)
    load(*p, events_);
  else
    events_.clear();
  return values(events_);
}

void RollingAggregate::emit_held(const HeldRecord& h, int64_t time, const Values& values,
                                 Output& out) {
  RecordBuilder b = out.add(h.kind, h.key, time, h.event);
  for (const auto& [name, value] : h.properties) b.set(name, value.view());
  set_values(b, values);
}

size_t RollingAggregate::held_events() const {
  size_t n = 0;
  for (const auto& [t, records] : held_) n += records.size();
  return n;
}

void RollingAggregate::HeldRecord::write(StateWriter& w) const {
  write_state(w, kind);
  w.str(key);
  w.str(std::string(symbol_name(event)));
  w.u64(properties.size());
  for (const auto& [name, value] : properties) {
    w.str(std::string(symbol_name(name)));
    value.write(w);
  }
}

RollingAggregate::HeldRecord RollingAggregate::HeldRecord::read(StateReader& r) {
  HeldRecord h;
  h.kind = read_state<EventKind>(r);
  h.key = r.str();
  h.event = intern(r.str());
  for (uint64_t n = r.u64(); n > 0; --n) {
    const SymbolId name = intern(r.str());
    h.properties.emplace_back(name, StoredValue::read(r));
  }
  return h;
}

void RollingAggregate::on_timer(const Timer& timer, Output& out) {
  watermark_floor_ = std::max(watermark_floor_, ctx().watermark);
  if (timer.time == wakeup_) wakeup_ = kNone;
  // Instant by instant up to the timer's time (the next wakeup, registered at the end, fires
  // in the same round when the watermark has passed it): at time t every profile is at
  // value(t) before the events held at t read it.
  for (int64_t t = next_instant(); t != kNone && t <= timer.time; t = next_instant()) {
    for (DueQueue* queue : {&arrivals_, &expiries_}) {
      while (!queue->empty() && queue->top_time() == t) {
        const std::string key(queue->top_key());
        queue->pop();
        Profile* p = state_->get(key);
        if (p == nullptr) continue;
        load(*p, events_);
        if (due(events_) != t) continue;  // a stale pair, or the profile's other one at t
        const Scheduled was = scheduled(events_);
        const size_t dropped = advance(key, events_, t, out);
        // Only the applied count and the oldest events changed: no need to encode them all.
        if (events_.empty()) {
          state_->erase(key);
          continue;
        }
        if (dropped == 0)
          p->set_applied(events_.applied);
        else
          p->keep_tail(layout_, events_, dropped, encoded_);
        schedule(key, scheduled(events_), was);
      }
    }
    if (!held_.empty() && held_.begin()->first == t) {
      const auto held = held_.extract(held_.begin());
      for (const HeldRecord& h : held.mapped()) emit_held(h, t, current_values(h.key), out);
    }
  }
  ensure_wakeup();
}

void RollingAggregate::on_watermark(int64_t watermark, Output& /*out*/) {
  watermark_floor_ = std::max(watermark_floor_, watermark);
}

int64_t RollingAggregate::first_buffered(const EventList& ev) {
  return ev.applied < ev.size() ? ev.times[ev.applied] : kNone;
}

int64_t RollingAggregate::expiry_of(int64_t first) const {
  return first > kMaxTime - config_.window_ms ? kMaxTime : first + config_.window_ms;
}

int64_t RollingAggregate::expiry(const EventList& ev) const {
  return ev.applied == 0 ? kNone : expiry_of(ev.times[0]);
}

int64_t RollingAggregate::due(const EventList& ev) const {
  const int64_t buffered = first_buffered(ev), expires = expiry(ev);
  if (buffered == kNone) return expires;
  return expires == kNone ? buffered : std::min(buffered, expires);
}

RollingAggregate::Values RollingAggregate::values(const EventList& ev) const {
  Values out;
  values(ev, 0, ev.applied, out);
  return out;
}

RollingAggregate::Values RollingAggregate::values_at(const EventList& ev, int64_t t) const {
  const int64_t from = t < kMinTime + config_.window_ms ? kMinTime : t - config_.window_ms;
  Values out;
  values(ev, ev.first_after(from), ev.first_after(t), out);
  return out;
}

bool RollingAggregate::own_stats(const Trait& t) {
  return t.slot < 0 || (t.filter_bit >= 0 && uses_numbers(t.fn));
}

void RollingAggregate::add(Running& running, const EventList& ev, size_t begin, size_t end) const {
  running.slots.resize(layout_.numbers);
  running.traits.resize(config_.traits.size());
  // Traits without a filter over one property share one pass over it.
  for (size_t slot = 0; slot < layout_.numbers; ++slot) {
    if (!shared_slots_[slot]) continue;
    NumberStats& stats = running.slots[slot];
    for (size_t e = begin; e < end; ++e) {
      const double v = ev.numbers[e * layout_.numbers + slot];
      if (!std::isnan(v)) stats.add(v);
    }
  }
  for (size_t i = 0; i < config_.traits.size(); ++i)
    if (own_stats(config_.traits[i]))
      add_range(running.traits[i], config_.traits[i], ev, begin, end);
}

void RollingAggregate::add_range(NumberStats& stats, const Trait& t, const EventList& ev,
                                 size_t begin, size_t end) const {
  if (t.slot < 0 && t.filter_bit < 0) {  // every event
    stats.count += static_cast<double>(end - begin);
    return;
  }
  for (size_t e = begin; e < end; ++e) {
    if (t.filter_bit >= 0 && ((ev.masks[e] >> t.filter_bit) & 1) == 0) continue;
    if (t.slot < 0) {
      ++stats.count;
      continue;
    }
    const double v = ev.numbers[e * layout_.numbers + static_cast<size_t>(t.slot)];
    if (!std::isnan(v)) stats.add(v);
  }
}

void RollingAggregate::result(const Running& running, const EventList& ev, size_t begin, size_t end,
                              Values& out) const {
  out.resize(config_.traits.size());
  for (size_t i = 0; i < config_.traits.size(); ++i) {
    const Trait& t = config_.traits[i];
    set_null(out[i]);
    if (t.slot >= 0 && !uses_numbers(t.fn)) {  // first, last, count_distinct
      const auto slot = static_cast<size_t>(t.slot);
      const auto takes = [&](size_t e) {
        return t.filter_bit < 0 || ((ev.masks[e] >> t.filter_bit) & 1) != 0;
      };
      const auto raw = [&](size_t e) -> const RawValue& {
        return ev.raws[e * layout_.raws + slot];
      };
      if (t.fn == AggregateFn::kCountDistinct) {
        DistinctCounter distinct;
        for (size_t e = begin; e < end; ++e)
          if (takes(e)) distinct.add(raw(e).view(), std::numeric_limits<size_t>::max());
        set_integer(out[i], static_cast<int64_t>(distinct.estimate()));
        continue;
      }
      for (size_t k = begin; k < end; ++k) {
        const size_t e = t.fn == AggregateFn::kFirst ? k : end - 1 - (k - begin);
        if (takes(e) && raw(e).type != ValueType::kNull) {
          out[i] = StoredValue::of(raw(e).view());
          break;
        }
      }
      continue;
    }
    const NumberStats& stats =
        own_stats(t) ? running.traits[i] : running.slots[static_cast<size_t>(t.slot)];
    if (t.fn == AggregateFn::kCount) {
      set_integer(out[i], static_cast<int64_t>(stats.count));
    } else if (stats.count > 0) {
      set_real(out[i], t.fn == AggregateFn::kSum   ? stats.sum
                       : t.fn == AggregateFn::kMin ? stats.lo
                       : t.fn == AggregateFn::kMax ? stats.hi
                                                   : stats.sum / stats.count);
    }
  }
}

void RollingAggregate::values(const EventList& ev, size_t begin, size_t end, Values& out) const {
  Running& running = running_;
  running.slots.assign(layout_.numbers, NumberStats{});
  running.traits.assign(config_.traits.size(), NumberStats{});
  add(running, ev, begin, end);
  result(running, ev, begin, end, out);
}

size_t RollingAggregate::advance(std::string_view key, EventList& ev, int64_t until, Output& out) {
  size_t dropped = 0;
  bool known = false;  // before_ and running_ hold the values of the previous instant
  for (int64_t now = due(ev); now != kNone && now <= until; now = due(ev)) {
    // The events that age out at `now` (the first `expired`) and those that enter (up to
    // `applied`): every change at `now` first, then one comparison.
    size_t expired = 0;
    if (now >= kMinTime + config_.window_ms)
      while (expired < ev.applied && ev.times[expired] <= now - config_.window_ms) ++expired;
    size_t applied = ev.applied;
    while (applied < ev.size() && ev.times[applied] == now) ++applied;
    // Nothing changed since the last instant: before_ are the values just before `now`.
    if (known) std::swap(before_, after_);
    if (expired == 0) {
      if (!known) values(ev, 0, ev.applied, before_);
      // Only events at `now`, the latest, enter: the running sums go on in time order, bit
      // for bit the sums over all the events.
      add(running_, ev, ev.applied, applied);
    } else if (known) {
      running_.slots.assign(layout_.numbers, NumberStats{});
      running_.traits.assign(config_.traits.size(), NumberStats{});
      add(running_, ev, expired, applied);
    } else {
      // Before and after in one pass over the events.
      Running& before = running_before_;
      for (Running* r : {&before, &running_}) {
        r->slots.assign(layout_.numbers, NumberStats{});
        r->traits.assign(config_.traits.size(), NumberStats{});
      }
      add_split(before, ev.applied, running_, expired, ev, applied);
      result(before, ev, 0, ev.applied, before_);
    }
    known = true;
    result(running_, ev, expired, applied, after_);
    if (!same(before_, after_)) emit_values(key, now, after_, out);
    ev.erase_front(layout_, expired);
    ev.applied = static_cast<uint32_t>(applied - expired);
    dropped += expired;
  }
  return dropped;
}

void RollingAggregate::add_split(Running& before, size_t before_end, Running& after,
                                 size_t after_begin, const EventList& ev, size_t end) const {
  for (size_t slot = 0; slot < layout_.numbers; ++slot) {
    if (!shared_slots_[slot]) continue;
    NumberStats& b = before.slots[slot];
    NumberStats& a = after.slots[slot];
    for (size_t e = 0; e < end; ++e) {
      const double v = ev.numbers[e * layout_.numbers + slot];
      if (std::isnan(v)) continue;
      if (e < before_end) b.add(v);
      if (e >= after_begin) a.add(v);
    }
  }
  for (size_t i = 0; i < config_.traits.size(); ++i) {
    const Trait& t = config_.traits[i];
    if (!own_stats(t)) continue;
    add_range(before.traits[i], t, ev, 0, before_end);
    add_range(after.traits[i], t, ev, after_begin, end);
  }
}

void RollingAggregate::store(std::string_view key, Profile& p, const EventList& ev, Scheduled was) {
  if (ev.empty()) {
    state_->erase(key);  // its pairs find no state and do nothing
    return;
  }
  p.encode(layout_, ev, encoded_);
  schedule(key, scheduled(ev), was);
}

void RollingAggregate::schedule(std::string_view key, Scheduled now, Scheduled was) {
  if (now.first_buffered != kNone && now.first_buffered != was.first_buffered)
    arrivals_.push(now.first_buffered, key);
  if (now.expiry != kNone && now.expiry != was.expiry) expiries_.push(now.expiry, key);
  if (arrivals_.size() + expiries_.size() > reschedule_at_) reschedule_all();
}

void RollingAggregate::reschedule_all() {
  arrivals_.clear();
  expiries_.clear();
  EventList ev;
  state_->for_each([&](std::string_view key, Profile& p) {
    load(p, ev);
    if (const int64_t t = first_buffered(ev); t != kNone) arrivals_.push(t, key);
    if (const int64_t t = expiry(ev); t != kNone) expiries_.push(t, key);
  });
  // Up to about as many stale pairs as live ones: the rebuild's cost is spread over as many
  // pushes.
  reschedule_at_ = 2 * (arrivals_.size() + expiries_.size()) + 1024;
}

int64_t RollingAggregate::next_instant() const {
  int64_t next = kNone;
  for (const DueQueue* queue : {&arrivals_, &expiries_})
    if (!queue->empty() && (next == kNone || queue->top_time() < next)) next = queue->top_time();
  if (!held_.empty() && (next == kNone || held_.begin()->first < next)) next = held_.begin()->first;
  return next;
}

void RollingAggregate::ensure_wakeup() {
  const int64_t next = next_instant();
  if (next == kNone || (wakeup_ != kNone && wakeup_ <= next)) return;
  if (wakeup_ != kNone)
    ctx().timers->move_timer(TimeDomain::kEventTime, wakeup_, next, "");
  else
    ctx().timers->register_timer(TimeDomain::kEventTime, next, "");
  wakeup_ = next;
}

RecordBuilder& RollingAggregate::set_values(RecordBuilder& b, const Values& values) const {
  for (size_t i = 0; i < config_.traits.size(); ++i)
    b.set(config_.traits[i].output, values[i].view());
  return b;
}

void RollingAggregate::emit_values(std::string_view key, int64_t time, const Values& values,
                                   Output& out) {
  RecordBuilder b = out.add(EventKind::kDerived, key, time, name_);
  set_values(b, values);
}

void RollingAggregate::export_profile(std::string_view merged, int64_t time, StateWriter& w,
                                      Output& out) {
  // Held events of `merged` leave before its export, as they would have without this
  // operator; no event of `merged` follows, so value(t) is known from its events now.
  if (const Profile* p = state_->get(merged); p != nullptr)
    load(*p, events_);
  else
    events_.clear();
  for (auto& [t, records] : held_) {
    std::erase_if(records, [&](const HeldRecord& h) {
      if (h.key != merged) return false;
      emit_held(h, t, values_at(events_, t), out);
      return true;
    });
  }
  std::erase_if(held_, [](const auto& held) { return held.second.empty(); });
  Profile* p = state_->get(merged);
  if (p == nullptr) {
    Profile().write(w);
    return;
  }
  if (events_.applied > 0)
    emit_values(merged, std::max(time, effective_watermark() + 1), values(EventList{}), out);
  p->write(w);
  // Its pairs in arrivals_ and expiries_ find no state and do nothing.
  state_->erase(merged);
}

void RollingAggregate::import_profile(std::string_view survivor, std::string_view /*merged*/,
                                      int64_t time, StateReader& r, Output& out) {
  const Profile incoming = Profile::read(r);
  // Events from an operator with other traits do not decode: they are left out.
  if (incoming.empty() || !incoming.decode(layout_, incoming_)) return;
  insert_applied(survivor, incoming_, std::max(time, effective_watermark() + 1), out);
  ensure_wakeup();
}

void RollingAggregate::insert_applied(std::string_view key, const EventList& incoming, int64_t time,
                                      Output& out) {
  const int64_t wm = effective_watermark();
  Profile& p = state_->get_or_create(key);
  load(p, events_);
  const Scheduled was = scheduled(events_);
  values(events_, 0, events_.applied, before_);
  for (size_t e = 0; e < incoming.size(); ++e) {
    const int64_t t = incoming.times[e];
    if (wm >= kMinTime + config_.window_ms && t <= wm - config_.window_ms) continue;  // aged out
    events_.insert(layout_, incoming, e);
    if (t <= wm) ++events_.applied;
  }
  values(events_, 0, events_.applied, after_);
  if (!same(before_, after_)) emit_values(key, time, after_, out);
  store(key, p, events_, was);
}

void RollingAggregate::reject_late(const Record& r) {
  ++late_events_;
  send_late_event(ctx().dead_letters, origin_, r, effective_watermark());
}

void RollingAggregate::snapshot(StateWriter& w) const {
  w.u64(kStateFormatVersion);
  write_state(w, watermark_floor_);
  state_->snapshot(w);
  write_state(w, held_);
}

DeferredSnapshot RollingAggregate::snapshot_async(StateWriter& w) {
  w.u64(kStateFormatVersion);
  write_state(w, watermark_floor_);
  // held_ as it is at the barrier, after the keyed state.
  StateWriter held;
  write_state(held, held_);
  return [keyed = state_->snapshot_async(), held = held.take()](StateWriter& out) {
    keyed(out);
    out.bytes(held.data(), held.size());
  };
}

void RollingAggregate::restore(StateReader& r) {
  const uint64_t version = r.u64();
  if (version != kStateFormatVersion)
    throw StateFormatError("rolling: unknown state format version " + std::to_string(version));
  watermark_floor_ = std::max(watermark_floor_, read_state<int64_t>(r));
  state_->restore(r);
  reschedule_all();  // also checks that every profile decodes
  // Held events of the key groups this subtask owns (a rescale restores several snapshots).
  const KeyedStateScope scope = ctx().state_scope();
  for (auto& [t, records] : read_state<std::map<int64_t, std::vector<HeldRecord>>>(r)) {
    for (HeldRecord& h : records) {
      if (!scope.key_groups.contains(key_group_of(h.key, scope.max_parallelism))) continue;
      held_[t].push_back(std::move(h));
    }
  }
  ensure_wakeup();
}

}  // namespace segflow

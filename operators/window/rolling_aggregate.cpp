#include "operators/window/rolling_aggregate.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/late_event.h"
#include "engine/registry.h"
#include "operators/window/distinct_counter.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("rolling", RollingAggregate);

namespace {

constexpr uint64_t kStateFormatVersion = 2;
constexpr int64_t kNone = kMinTime;
constexpr int kMaxFilteredTraits = 32;
const int64_t kNoNumber = std::bit_cast<int64_t>(std::numeric_limits<double>::quiet_NaN());

// The same value (NaN equal to NaN).
bool same(const StoredValue& a, const StoredValue& b) {
  return a.type == b.type && a.i == b.i && std::memcmp(&a.d, &b.d, sizeof a.d) == 0 && a.s == b.s;
}
bool same(const RollingAggregate::Values& a, const RollingAggregate::Values& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const StoredValue& x, const StoredValue& y) { return same(x, y); });
}

StoredValue integer(int64_t i) {
  StoredValue v;
  v.type = ValueType::kInt;
  v.i = i;
  return v;
}
StoredValue real(double d) {
  StoredValue v;
  v.type = ValueType::kDouble;
  v.d = d;
  return v;
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

RollingAggregate::Profile& RollingAggregate::Profile::operator=(const Profile& o) {
  if (this == &o) return *this;
  rows = o.rows;
  extra = o.extra ? std::make_unique<Extra>(*o.extra) : nullptr;
  timer = o.timer;
  applied = o.applied;
  return *this;
}

void RollingAggregate::Profile::write(StateWriter& w) const {
  write_state(w, rows);
  write_state(w, extra != nullptr);
  if (extra) {
    write_state(w, extra->raws);
    write_state(w, extra->masks);
  }
  write_state(w, applied);
  write_state(w, timer);
}

RollingAggregate::Profile RollingAggregate::Profile::read(StateReader& r) {
  Profile p;
  p.rows = read_state<std::vector<int64_t>>(r);
  if (read_state<bool>(r)) {
    p.x().raws = read_state<std::vector<StoredValue>>(r);
    p.x().masks = read_state<std::vector<uint32_t>>(r);
  }
  p.applied = read_state<uint32_t>(r);
  p.timer = read_state<int64_t>(r);
  return p;
}

RollingAggregate::RollingAggregate(const Config& config) : config_(config) {}

void RollingAggregate::open(OperatorContext& ctx) {
  Operator::open(ctx);
  name_ = intern(config_.name.empty() ? ctx.operator_id : config_.name);
  origin_ = ctx.operator_id + "#" + std::to_string(ctx.subtask);
  state_ = std::make_unique<ValueState<Profile>>(ctx.state_scope());
}

int64_t RollingAggregate::effective_watermark() const {
  return std::max(ctx().watermark, watermark_floor_);
}

RollingAggregate::Profile RollingAggregate::row_of(const Batch& in, const Record& r) const {
  Profile q;
  q.rows.assign(stride(), kNoNumber);
  q.rows[0] = r.event_time;
  for (size_t i = 0; i < config_.numeric_properties.size(); ++i) {
    const Value* v = in.find(r, config_.numeric_properties[i]);
    if (v != nullptr && v->number()) q.rows[1 + i] = std::bit_cast<int64_t>(*v->number());
  }
  if (!config_.raw_properties.empty()) {
    for (SymbolId property : config_.raw_properties) {
      const Value* v = in.find(r, property);
      q.x().raws.push_back(v == nullptr ? StoredValue{} : StoredValue::of(*v));
    }
  }
  if (config_.filter_bits > 0) {
    uint32_t mask = 0;
    for (const Trait& t : config_.traits)
      if (t.filter_bit >= 0 && t.filter.passes(in, r)) mask |= uint32_t{1} << t.filter_bit;
    q.x().masks.push_back(mask);
  }
  return q;
}

void RollingAggregate::insert_from(Profile& p, const Profile& from, size_t e) const {
  const size_t n = stride();
  const auto at = static_cast<std::ptrdiff_t>(first_after(p, time_at(from, e)));
  const auto src = from.rows.begin() + static_cast<std::ptrdiff_t>(e * n);
  p.rows.insert(p.rows.begin() + at * static_cast<std::ptrdiff_t>(n), src,
                src + static_cast<std::ptrdiff_t>(n));
  if (!from.extra) return;
  const auto raw_n = static_cast<std::ptrdiff_t>(config_.raw_properties.size());
  if (raw_n > 0) {
    const auto raw = from.extra->raws.begin() + static_cast<std::ptrdiff_t>(e) * raw_n;
    p.x().raws.insert(p.x().raws.begin() + at * raw_n, raw, raw + raw_n);
  }
  if (config_.filter_bits > 0) p.x().masks.insert(p.x().masks.begin() + at, from.extra->masks[e]);
}

size_t RollingAggregate::first_after(const Profile& p, int64_t t) const {
  size_t lo = 0, hi = events(p);
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (time_at(p, mid) <= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

void RollingAggregate::erase_front(Profile& p, size_t n) const {
  const auto count = static_cast<std::ptrdiff_t>(n);
  p.rows.erase(p.rows.begin(), p.rows.begin() + count * static_cast<std::ptrdiff_t>(stride()));
  if (!p.extra) return;
  auto& raws = p.extra->raws;
  raws.erase(raws.begin(),
             raws.begin() + count * static_cast<std::ptrdiff_t>(config_.raw_properties.size()));
  auto& masks = p.extra->masks;
  if (!masks.empty()) masks.erase(masks.begin(), masks.begin() + count);
}

bool RollingAggregate::consistent(const Profile& p) const {
  if (p.rows.size() % stride() != 0) return false;
  const size_t n = events(p);
  const size_t raws = p.extra ? p.extra->raws.size() : 0;
  const size_t masks = p.extra ? p.extra->masks.size() : 0;
  return p.applied <= n && raws == n * config_.raw_properties.size() &&
         masks == (config_.filter_bits > 0 ? n : 0);
}

void RollingAggregate::process(const Batch& in, Output& out) {
  const int64_t wm = effective_watermark();
  for (const Record& r : in.records()) {
    if (config_.filter.passes(in, r)) {
      if (r.event_time > wm) {
        Profile& p = state_->get_or_create(r.key);
        insert_from(p, row_of(in, r), 0);
        retime(r.key, p);
      } else if (wm < kMinTime + config_.allowed_lateness_ms ||
                 r.event_time > wm - config_.allowed_lateness_ms) {
        ++late_accepted_;
        insert_applied(r.key, row_of(in, r), wm + 1, out);
      } else {
        reject_late(r);
      }
    }
    if (config_.forward) forward(in, r, out);
  }
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
    wake_at(r.event_time);
    held_[r.event_time].push_back(std::move(h));
    return;
  }
  const Profile* p = state_->get(r.key);
  emit_held(h, r.event_time, values(p != nullptr ? *p : Profile{}), out);
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

void RollingAggregate::wake_at(int64_t t) {
  if (!due_.contains(t) && !held_.contains(t))
    ctx().timers->register_timer(TimeDomain::kEventTime, t, "");
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
  // Timers fire in time order, and those registered meanwhile at or below the watermark
  // fire in the same round: each profile advances instant by instant, so at time t every
  // profile is at value(t) and held events read it.
  if (auto node = due_.extract(timer.time); !node.empty()) {
    for (const std::string& key : node.mapped()) {
      Profile* p = state_->get(key);
      if (p == nullptr || p->timer != timer.time) continue;
      p->timer = kNone;
      advance(key, *p, timer.time, out);
      retime(key, *p);
    }
  }
  auto held = held_.extract(timer.time);
  if (held.empty()) return;
  for (const HeldRecord& h : held.mapped()) {
    const Profile* p = state_->get(h.key);
    emit_held(h, timer.time, values(p != nullptr ? *p : Profile{}), out);
  }
}

void RollingAggregate::on_watermark(int64_t watermark, Output& /*out*/) {
  watermark_floor_ = std::max(watermark_floor_, watermark);
}

int64_t RollingAggregate::due(const Profile& p) const {
  int64_t t = kNone;
  if (p.applied < events(p)) t = time_at(p, p.applied);
  if (p.applied > 0) {
    const int64_t first = time_at(p, 0);
    const int64_t expiry =
        first > kMaxTime - config_.window_ms ? kMaxTime : first + config_.window_ms;
    if (t == kNone || expiry < t) t = expiry;
  }
  return t;
}

RollingAggregate::Values RollingAggregate::values_at(const Profile& p, int64_t t) const {
  const int64_t from = t < kMinTime + config_.window_ms ? kMinTime : t - config_.window_ms;
  return values(p, first_after(p, from), first_after(p, t));
}

RollingAggregate::Values RollingAggregate::values(const Profile& p, size_t begin,
                                                  size_t end) const {
  const size_t n = stride();
  Values out(config_.traits.size());
  for (size_t i = 0; i < config_.traits.size(); ++i) {
    const Trait& t = config_.traits[i];
    const auto takes = [&](size_t e) {
      return t.filter_bit < 0 || ((p.extra->masks[e] >> t.filter_bit) & 1) != 0;
    };
    if (t.slot < 0) {  // count of events
      int64_t count = 0;
      for (size_t e = begin; e < end; ++e) count += takes(e) ? 1 : 0;
      out[i] = integer(count);
      continue;
    }
    const auto slot = static_cast<size_t>(t.slot);
    if (!uses_numbers(t.fn)) {
      const size_t raw_n = config_.raw_properties.size();
      const auto raw = [&](size_t e) -> const StoredValue& {
        return p.extra->raws[e * raw_n + slot];
      };
      if (t.fn == AggregateFn::kCountDistinct) {
        DistinctCounter distinct;
        for (size_t e = begin; e < end; ++e)
          if (takes(e)) distinct.add(raw(e).view(), std::numeric_limits<size_t>::max());
        out[i] = integer(static_cast<int64_t>(distinct.estimate()));
        continue;
      }
      for (size_t k = begin; k < end; ++k) {
        const size_t e = t.fn == AggregateFn::kFirst ? k : end - 1 - (k - begin);
        if (takes(e) && raw(e).type != ValueType::kNull) {
          out[i] = raw(e);
          break;
        }
      }
      continue;
    }
    double count = 0, sum = 0, lo = 0, hi = 0;
    for (size_t e = begin; e < end; ++e) {
      const double v = std::bit_cast<double>(p.rows[e * n + 1 + slot]);
      if (std::isnan(v) || !takes(e)) continue;
      lo = count == 0 ? v : std::min(lo, v);
      hi = count == 0 ? v : std::max(hi, v);
      sum += v;
      ++count;
    }
    if (t.fn == AggregateFn::kCount) {
      out[i] = integer(static_cast<int64_t>(count));
    } else if (count > 0) {
      out[i] = real(t.fn == AggregateFn::kSum   ? sum
                    : t.fn == AggregateFn::kMin ? lo
                    : t.fn == AggregateFn::kMax ? hi
                                                : sum / count);
    }
  }
  return out;
}

void RollingAggregate::advance(std::string_view key, Profile& p, int64_t until, Output& out) {
  for (int64_t now = due(p); now != kNone && now <= until; now = due(p)) {
    // Nothing changed since the last instant: these are the values just before `now`.
    const Values before = values(p);
    // Every change at `now` first, then one comparison.
    size_t expired = 0;
    while (expired < p.applied && time_at(p, expired) <= now - config_.window_ms) ++expired;
    erase_front(p, expired);
    p.applied -= static_cast<uint32_t>(expired);
    while (p.applied < events(p) && time_at(p, p.applied) == now) ++p.applied;
    const Values after = values(p);
    if (!same(before, after)) emit_values(key, now, after, out);
  }
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
  for (auto& [t, records] : held_) {
    const Profile* p = state_->get(merged);
    std::erase_if(records, [&](const HeldRecord& h) {
      if (h.key != merged) return false;
      emit_held(h, t, p != nullptr ? values_at(*p, t) : values(Profile{}), out);
      return true;
    });
  }
  Profile* p = state_->get(merged);
  if (p == nullptr) {
    Profile().write(w);
    return;
  }
  if (p->applied > 0)
    emit_values(merged, std::max(time, effective_watermark() + 1), values(Profile{}), out);
  p->write(w);
  // Its pending timer finds no state and does nothing.
  state_->erase(merged);
}

void RollingAggregate::import_profile(std::string_view survivor, std::string_view /*merged*/,
                                      int64_t time, StateReader& r, Output& out) {
  const Profile incoming = Profile::read(r);
  if (incoming.rows.empty() || !consistent(incoming)) return;
  insert_applied(survivor, incoming, std::max(time, effective_watermark() + 1), out);
}

void RollingAggregate::insert_applied(std::string_view key, const Profile& incoming, int64_t time,
                                      Output& out) {
  const int64_t wm = effective_watermark();
  Profile& p = state_->get_or_create(key);
  const Values before = values(p);
  for (size_t e = 0; e < events(incoming); ++e) {
    const int64_t t = time_at(incoming, e);
    if (wm >= kMinTime + config_.window_ms && t <= wm - config_.window_ms) continue;  // aged out
    insert_from(p, incoming, e);
    if (t <= wm) ++p.applied;
  }
  const Values after = values(p);
  if (!same(before, after)) emit_values(key, time, after, out);
  retime(key, p);
}

void RollingAggregate::retime(std::string_view key, Profile& p) {
  const int64_t t = due(p);
  if (t != p.timer) {
    p.timer = t;
    if (t != kNone) {
      wake_at(t);
      due_[t].emplace_back(key);
    }
  }
  if (p.rows.empty()) state_->erase(key);
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
  state_->for_each([&](std::string_view key, Profile& p) {
    if (p.timer == kNone) return;
    wake_at(p.timer);
    due_[p.timer].emplace_back(key);
  });
  // Held events of the key groups this subtask owns (a rescale restores several snapshots).
  const KeyedStateScope scope = ctx().state_scope();
  for (auto& [t, records] : read_state<std::map<int64_t, std::vector<HeldRecord>>>(r)) {
    for (HeldRecord& h : records) {
      if (!scope.key_groups.contains(key_group_of(h.key, scope.max_parallelism))) continue;
      wake_at(t);
      held_[t].push_back(std::move(h));
    }
  }
}

}  // namespace segflow

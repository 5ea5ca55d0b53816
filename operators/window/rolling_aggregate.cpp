#include "operators/window/rolling_aggregate.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engine/late_event.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("rolling", RollingAggregate);

namespace {

constexpr uint64_t kStateFormatVersion = 1;
constexpr int64_t kNone = kMinTime;
constexpr double kNoValue = std::numeric_limits<double>::quiet_NaN();

// Equal, with NaN equal to NaN (the same "no value").
bool same(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

}  // namespace

RollingAggregate::Config RollingAggregate::Config::parse(const ConfigNode& node) {
  node.expect_map();
  Config c;
  c.window_ms = node.duration_ms("window");
  if (c.window_ms <= 0) node.fail_at("window", "'window' must be longer than 0ms");
  static const std::map<std::string, AggregateFn> fns = {{"count", AggregateFn::kCount},
                                                         {"sum", AggregateFn::kSum},
                                                         {"min", AggregateFn::kMin},
                                                         {"max", AggregateFn::kMax},
                                                         {"avg", AggregateFn::kAvg}};
  for (const ConfigNode& t : node.list("traits")) {
    t.expect_map();
    Trait trait;
    trait.name = t.string("name");
    if (trait.name.empty()) t.fail_at("name", "'name' must not be empty");
    for (const Trait& other : c.traits)
      if (other.name == trait.name)
        t.fail_at("name", "trait '" + trait.name + "' is defined twice");
    trait.name_symbol = intern(trait.name);
    const std::string fn = t.string("fn");
    const auto it = fns.find(fn);
    if (it == fns.end())
      t.fail_at("fn",
                "unknown rolling aggregate '" + fn + "' (expected count, sum, min, max or avg)");
    trait.fn = it->second;
    if (t.has("property")) {
      trait.property = intern(t.string("property"));
      const auto at = std::find(c.properties.begin(), c.properties.end(), trait.property);
      trait.slot = static_cast<int>(at - c.properties.begin());
      if (at == c.properties.end()) c.properties.push_back(trait.property);
    } else if (trait.fn != AggregateFn::kCount) {
      t.fail("rolling aggregate '" + fn + "' needs a 'property'");
    }
    t.finish();
    c.traits.push_back(std::move(trait));
  }
  if (c.traits.empty()) node.fail_at("traits", "'traits' must list at least one");
  if (node.has("events")) {
    for (const std::string& name : node.strings("events")) c.events.push_back(intern(name));
    if (c.events.empty()) node.fail_at("events", "'events' must name at least one event");
  }
  if (node.has("name")) {
    c.name = node.string("name");
    if (c.name.empty()) node.fail_at("name", "'name' must not be empty");
  }
  return c;
}

void RollingAggregate::Profile::write(StateWriter& w) const {
  write_state(w, times);
  write_state(w, values);
  write_state(w, applied);
  write_state(w, timer);
}

RollingAggregate::Profile RollingAggregate::Profile::read(StateReader& r) {
  Profile p;
  p.times = read_state<std::vector<int64_t>>(r);
  p.values = read_state<std::vector<double>>(r);
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

bool RollingAggregate::matches(SymbolId event) const {
  return config_.events.empty() ||
         std::find(config_.events.begin(), config_.events.end(), event) != config_.events.end();
}

int64_t RollingAggregate::effective_watermark() const {
  return std::max(ctx().watermark, watermark_floor_);
}

void RollingAggregate::process(const Batch& in, Output& /*out*/) {
  const int64_t wm = effective_watermark();
  for (const Record& r : in.records()) {
    if (!matches(r.event)) continue;
    if (r.event_time <= wm) {
      reject_late(r);
      continue;
    }
    Profile& p = state_->get_or_create(r.key);
    const auto at = std::upper_bound(p.times.begin() + p.applied, p.times.end(), r.event_time);
    const auto index = at - p.times.begin();
    p.times.insert(at, r.event_time);
    const size_t stride = config_.properties.size();
    const auto v = p.values.insert(p.values.begin() + index * static_cast<std::ptrdiff_t>(stride),
                                   stride, kNoValue);
    for (size_t i = 0; i < stride; ++i) {
      const Value* value = in.find(r, config_.properties[i]);
      if (value != nullptr && value->number()) v[static_cast<std::ptrdiff_t>(i)] = *value->number();
    }
    retime(r.key, p);
  }
}

void RollingAggregate::on_timer(const Timer& timer, Output& out) {
  watermark_floor_ = std::max(watermark_floor_, ctx().watermark);
  auto node = due_.extract(timer.time);
  if (node.empty()) return;
  for (const std::string& key : node.mapped()) {
    Profile* p = state_->get(key);
    if (p == nullptr || p->timer != timer.time) continue;
    p->timer = kNone;
    advance(key, *p, effective_watermark(), out);
    retime(key, *p);
  }
}

void RollingAggregate::on_watermark(int64_t watermark, Output& /*out*/) {
  watermark_floor_ = std::max(watermark_floor_, watermark);
}

int64_t RollingAggregate::due(const Profile& p) const {
  int64_t t = kNone;
  if (p.applied < p.times.size()) t = p.times[p.applied];
  if (p.applied > 0) {
    const int64_t first = p.times.front();
    const int64_t expiry =
        first > kMaxTime - config_.window_ms ? kMaxTime : first + config_.window_ms;
    if (t == kNone || expiry < t) t = expiry;
  }
  return t;
}

std::vector<double> RollingAggregate::trait_values(const Profile& p) const {
  const size_t stride = config_.properties.size();
  std::vector<double> out(config_.traits.size(), kNoValue);
  for (size_t i = 0; i < config_.traits.size(); ++i) {
    const Trait& t = config_.traits[i];
    if (t.slot < 0) {  // count of events
      out[i] = static_cast<double>(p.applied);
      continue;
    }
    double n = 0, sum = 0, lo = 0, hi = 0;
    for (size_t e = 0; e < p.applied; ++e) {
      const double v = p.values[e * stride + static_cast<size_t>(t.slot)];
      if (std::isnan(v)) continue;
      lo = n == 0 ? v : std::min(lo, v);
      hi = n == 0 ? v : std::max(hi, v);
      sum += v;
      ++n;
    }
    switch (t.fn) {
      case AggregateFn::kCount:
        out[i] = n;
        break;
      case AggregateFn::kSum:
        out[i] = n == 0 ? kNoValue : sum;
        break;
      case AggregateFn::kMin:
        out[i] = n == 0 ? kNoValue : lo;
        break;
      case AggregateFn::kMax:
        out[i] = n == 0 ? kNoValue : hi;
        break;
      default:
        out[i] = n == 0 ? kNoValue : sum / n;
    }
  }
  return out;
}

void RollingAggregate::advance(std::string_view key, Profile& p, int64_t until, Output& out) {
  const size_t stride = config_.properties.size();
  for (int64_t now = due(p); now != kNone && now <= until; now = due(p)) {
    // Nothing changed since the last instant: these are the values just before `now`.
    const std::vector<double> before = trait_values(p);
    // Every change at `now` first, then one comparison.
    size_t expired = 0;
    while (expired < p.applied && p.times[expired] <= now - config_.window_ms) ++expired;
    p.times.erase(p.times.begin(), p.times.begin() + static_cast<std::ptrdiff_t>(expired));
    p.values.erase(p.values.begin(),
                   p.values.begin() + static_cast<std::ptrdiff_t>(expired * stride));
    p.applied -= static_cast<uint32_t>(expired);
    while (p.applied < p.times.size() && p.times[p.applied] == now) ++p.applied;
    const std::vector<double> after = trait_values(p);
    if (same(before, after)) continue;
    emit_values(key, now, after, out);
  }
}

void RollingAggregate::emit_values(std::string_view key, int64_t time,
                                   const std::vector<double>& values, Output& out) {
  RecordBuilder b = out.add(EventKind::kDerived, key, time, name_);
  for (size_t i = 0; i < config_.traits.size(); ++i) {
    const double v = values[i];
    b.set(config_.traits[i].name_symbol, config_.traits[i].fn == AggregateFn::kCount
                                             ? Value::integer(static_cast<int64_t>(v))
                                         : std::isnan(v) ? Value::null()
                                                         : Value::real(v));
  }
}

void RollingAggregate::export_profile(std::string_view merged, int64_t time, StateWriter& w,
                                      Output& out) {
  Profile* p = state_->get(merged);
  if (p == nullptr) {
    Profile().write(w);
    return;
  }
  if (p->applied > 0)
    emit_values(merged, std::max(time, effective_watermark() + 1), trait_values(Profile{}), out);
  p->write(w);
  // Its pending timer finds no state and does nothing.
  state_->erase(merged);
}

void RollingAggregate::import_profile(std::string_view survivor, std::string_view /*merged*/,
                                      int64_t time, StateReader& r, Output& out) {
  const Profile incoming = Profile::read(r);
  const size_t stride = config_.properties.size();
  if (incoming.times.empty() || incoming.values.size() != incoming.times.size() * stride) return;
  const int64_t wm = effective_watermark();
  Profile& p = state_->get_or_create(survivor);
  const std::vector<double> before = trait_values(p);
  for (size_t e = 0; e < incoming.times.size(); ++e) {
    const int64_t t = incoming.times[e];
    if (t <= wm - config_.window_ms) continue;  // aged out here already
    const auto at = std::upper_bound(p.times.begin(), p.times.end(), t);
    const auto index = at - p.times.begin();
    p.times.insert(at, t);
    p.values.insert(p.values.begin() + index * static_cast<std::ptrdiff_t>(stride),
                    incoming.values.begin() + static_cast<std::ptrdiff_t>(e * stride),
                    incoming.values.begin() + static_cast<std::ptrdiff_t>((e + 1) * stride));
    if (t <= wm) ++p.applied;
  }
  const std::vector<double> after = trait_values(p);
  if (!same(before, after)) emit_values(survivor, std::max(time, wm + 1), after, out);
  retime(survivor, p);
}

void RollingAggregate::retime(std::string_view key, Profile& p) {
  const int64_t t = due(p);
  if (t != p.timer) {
    p.timer = t;
    if (t != kNone) {
      auto [it, added] = due_.try_emplace(t);
      if (added) ctx().timers->register_timer(TimeDomain::kEventTime, t, "");
      it->second.emplace_back(key);
    }
  }
  if (p.times.empty()) state_->erase(key);
}

void RollingAggregate::reject_late(const Record& r) {
  ++late_events_;
  send_late_event(ctx().dead_letters, origin_, r, effective_watermark());
}

void RollingAggregate::snapshot(StateWriter& w) const {
  w.u64(kStateFormatVersion);
  write_state(w, watermark_floor_);
  state_->snapshot(w);
}

void RollingAggregate::restore(StateReader& r) {
  const uint64_t version = r.u64();
  if (version != kStateFormatVersion)
    throw StateFormatError("rolling: unknown state format version " + std::to_string(version));
  watermark_floor_ = std::max(watermark_floor_, read_state<int64_t>(r));
  state_->restore(r);
  state_->for_each([&](std::string_view key, Profile& p) {
    if (p.timer == kNone) return;
    auto [it, added] = due_.try_emplace(p.timer);
    if (added) ctx().timers->register_timer(TimeDomain::kEventTime, p.timer, "");
    it->second.emplace_back(key);
  });
}

}  // namespace segflow

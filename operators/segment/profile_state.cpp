#include "operators/segment/profile_state.h"

#include <algorithm>
#include <iterator>
#include <new>

#include "operators/segment/segment_rules.h"

namespace segflow {

namespace {

void write_symbol(StateWriter& w, SymbolId id) { w.str(symbol_name(id)); }
SymbolId read_symbol(StateReader& r) { return intern(r.str()); }

}  // namespace

OwnedValue::OwnedValue(const OwnedValue& o) : type(o.type) {
  if (type == ValueType::kString) {
    new (&string) CompactString(o.string);
  } else {
    integer = o.integer;
  }
}

OwnedValue::OwnedValue(OwnedValue&& o) noexcept : type(o.type) {
  if (type == ValueType::kString) {
    new (&string) CompactString(std::move(o.string));
  } else {
    integer = o.integer;
  }
}

OwnedValue& OwnedValue::operator=(const OwnedValue& o) {
  if (this != &o) {
    OwnedValue copy(o);
    *this = std::move(copy);
  }
  return *this;
}

OwnedValue& OwnedValue::operator=(OwnedValue&& o) noexcept {
  if (this == &o) return *this;
  if (type == ValueType::kString) string.~CompactString();
  type = o.type;
  if (type == ValueType::kString) {
    new (&string) CompactString(std::move(o.string));
  } else {
    integer = o.integer;
  }
  return *this;
}

OwnedValue::~OwnedValue() {
  if (type == ValueType::kString) string.~CompactString();
}

OwnedValue OwnedValue::from(const Value& v) {
  OwnedValue s;
  switch (v.type()) {
    case ValueType::kBool:
    case ValueType::kInt:
      s.integer = v.as_int();
      break;
    case ValueType::kDouble:
      s.real = v.as_double();
      break;
    case ValueType::kString:
      new (&s.string) CompactString(v.as_string());
      break;
    default:
      break;
  }
  s.type = v.type();
  return s;
}

Value OwnedValue::view() const {
  switch (type) {
    case ValueType::kBool:
      return Value::boolean(integer != 0);
    case ValueType::kInt:
      return Value::integer(integer);
    case ValueType::kDouble:
      return Value::real(real);
    case ValueType::kString:
      return Value::string(string.view());
    default:
      return Value::null();
  }
}

bool OwnedValue::operator<(const OwnedValue& o) const {
  if (type != o.type) return type < o.type;
  switch (type) {
    case ValueType::kBool:
    case ValueType::kInt:
      return integer < o.integer;
    case ValueType::kDouble:
      return real < o.real;
    case ValueType::kString:
      return string < o.string;
    default:
      return false;
  }
}

bool OwnedValue::operator==(const OwnedValue& o) const {
  if (type != o.type) return false;
  switch (type) {
    case ValueType::kBool:
    case ValueType::kInt:
      return integer == o.integer;
    case ValueType::kDouble:
      return real == o.real;
    case ValueType::kString:
      return string == o.string;
    default:
      return true;
  }
}

void OwnedValue::write(StateWriter& w) const {
  const bool is_int = type == ValueType::kBool || type == ValueType::kInt;
  write_state(w, type);
  write_state(w, is_int ? integer : int64_t{0});
  write_state(w, type == ValueType::kDouble ? real : 0.0);
  w.str(type == ValueType::kString ? string.view() : std::string_view());
}

OwnedValue OwnedValue::read(StateReader& r) {
  const auto type = read_state<ValueType>(r);
  if (type > ValueType::kString) throw StateFormatError("segments: bad value type");
  const auto integer = read_state<int64_t>(r);
  const auto real = read_state<double>(r);
  const std::string string = r.str();
  switch (type) {
    case ValueType::kBool:
      return from(Value::boolean(integer != 0));
    case ValueType::kInt:
      return from(Value::integer(integer));
    case ValueType::kDouble:
      return from(Value::real(real));
    case ValueType::kString:
      return from(Value::string(string));
    default:
      return {};
  }
}

void PendingEvent::write(StateWriter& w) const {
  write_state(w, time);
  w.u64(feeds.size());
  for (const LeafFeed& f : feeds) {
    write_state(w, f.role);
    write_state(w, f.leaf);
    write_state(w, f.value);
  }
  w.u64(updates.size());
  for (const PropertyUpdate& u : updates) {
    write_symbol(w, u.name);
    u.value.write(w);
  }
}

PendingEvent PendingEvent::read(StateReader& r) {
  PendingEvent e;
  e.time = read_state<int64_t>(r);
  for (uint64_t n = r.u64(); n > 0; --n) {
    LeafFeed f;
    f.role = read_state<LeafFeed::Role>(r);
    f.leaf = read_state<uint32_t>(r);
    f.value = read_state<double>(r);
    e.feeds.push_back(f);
  }
  for (uint64_t n = r.u64(); n > 0; --n) {
    PropertyUpdate u;
    u.name = read_symbol(r);
    u.value = OwnedValue::read(r);
    e.updates.push_back(std::move(u));
  }
  return e;
}

ProfileState::ProfileState(const ProfileState& o)
    : buffered(o.buffered),
      leaves(o.leaves),
      properties(o.properties),
      inside(o.inside),
      deadlines(o.deadlines),
      last_event_time(o.last_event_time),
      applied_until(o.applied_until),
      timer(o.timer),
      cleanup_at(o.cleanup_at),
      rare_(o.rare_ ? std::make_unique<ProfileRare>(*o.rare_) : nullptr) {}

ProfileState& ProfileState::operator=(const ProfileState& o) {
  if (this != &o) {
    ProfileState copy(o);
    *this = std::move(copy);
  }
  return *this;
}

ProfileRare& ProfileState::rare() {
  if (!rare_) rare_ = std::make_unique<ProfileRare>();
  return *rare_;
}

void ProfileState::set_evaluated(bool evaluated) {
  if (evaluated) {
    if (rare_) rare_->unevaluated = false;
    drop_rare_if_empty();
  } else if (applied_until != kMinTime) {
    rare().unevaluated = true;
  }
}

void ProfileState::set_evaluate_all_at(int64_t time) {
  if (time == kMaxTime && !rare_) return;
  rare().evaluate_all_at = time;
  drop_rare_if_empty();
}

const CompactVector<std::pair<uint32_t, int64_t>>& ProfileState::last_exits() const {
  static const CompactVector<std::pair<uint32_t, int64_t>> kNone;
  return rare_ ? rare_->last_exits : kNone;
}

void ProfileState::buffer(PendingEvent e) {
  const auto at = std::upper_bound(buffered.begin(), buffered.end(), e.time,
                                   [](int64_t t, const PendingEvent& p) { return t < p.time; });
  buffered.insert(at, std::move(e));
}

void ProfileState::add_deadline(Deadline d) {
  deadlines.insert(std::lower_bound(deadlines.begin(), deadlines.end(), d), d);
}

void ProfileState::remove_deadline(Deadline d) {
  const Deadline* at = std::lower_bound(deadlines.begin(), deadlines.end(), d);
  if (at != deadlines.end() && *at == d) deadlines.erase(at);
}

void ProfileState::move_deadline(Deadline d, int64_t time) {
  Deadline* at = std::lower_bound(deadlines.begin(), deadlines.end(), d);
  if (at == deadlines.end() || *at != d) {
    add_deadline({time, d.id});
    return;
  }
  at->time = time;
  for (; at + 1 != deadlines.end() && at[1] < at[0]; ++at) std::swap(at[0], at[1]);
  for (; at != deadlines.begin() && at[0] < at[-1]; --at) std::swap(at[-1], at[0]);
}

const ProfileProperty* ProfileState::property(SymbolId name) const {
  for (const ProfileProperty& p : properties)
    if (p.name == name) return &p;
  return nullptr;
}

bool ProfileState::update_property(SymbolId name, int64_t time, const OwnedValue& value) {
  for (ProfileProperty& p : properties) {
    if (p.name != name) continue;
    if (time < p.time || (time == p.time && !(p.value < value))) return false;
    p.time = time;
    const bool changed = !(p.value == value);
    p.value = value;
    return changed;
  }
  ProfileProperty& p = properties.emplace_back();
  p.name = name;
  p.time = time;
  p.value = value;
  return true;
}

void ProfileState::set_inside(uint32_t segment, bool in) {
  const auto it = std::lower_bound(inside.begin(), inside.end(), segment);
  const bool present = it != inside.end() && *it == segment;
  if (in && !present) inside.insert(it, segment);
  if (!in && present) inside.erase(it);
}

int64_t ProfileState::last_exit(uint32_t segment) const {
  for (const auto& [s, t] : last_exits())
    if (s == segment) return t;
  return kMinTime;
}

void ProfileState::set_last_exit(uint32_t segment, int64_t time) {
  for (auto& [s, t] : rare().last_exits) {
    if (s != segment) continue;
    t = std::max(t, time);
    return;
  }
  rare_->last_exits.emplace_back(segment, time);
}

void ProfileState::merge(const ProfileState& other) {
  for (const PendingEvent& e : other.buffered) buffer(e);
  for (const LeafState& theirs : other.leaves) {
    LeafState& mine = leaf_or_create(theirs.id());
    if (!theirs.entries.empty()) {
      const std::vector<LeafEntries::Entry> a = mine.entries.to_vector();
      const std::vector<LeafEntries::Entry> b = theirs.entries.to_vector();
      std::vector<LeafEntries::Entry> both;
      both.reserve(a.size() + b.size());
      std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
      mine.entries.assign(both);
    }
    mine.set_last(std::max(mine.last(), theirs.last()));
  }
  for (const ProfileProperty& p : other.properties) update_property(p.name, p.time, p.value);
  last_event_time = std::max(last_event_time, other.last_event_time);
  for (const auto& [segment, time] : other.last_exits()) set_last_exit(segment, time);
  const bool both_evaluated = evaluated() && other.evaluated();
  applied_until = std::max(applied_until, other.applied_until);
  set_evaluated(both_evaluated);
  deadlines.clear();
  cleanup_at = kMinTime;
}

void ProfileState::write(StateWriter& w) const {
  w.u64(buffered.size());
  for (const PendingEvent& e : buffered) e.write(w);
  const std::vector<uint32_t> ids = leaves.sorted_ids();  // deterministic snapshots
  w.u64(ids.size());
  for (uint32_t id : ids) {
    write_state(w, id);
    leaves.find(id)->write(w);
  }
  w.u64(properties.size());
  for (const ProfileProperty& p : properties) {
    write_symbol(w, p.name);
    write_state(w, p.time);
    p.value.write(w);
  }
  write_state(w, std::vector<uint32_t>(inside.begin(), inside.end()));
  write_state(w, last_event_time);
  write_state(w,
              std::vector<std::pair<uint32_t, int64_t>>(last_exits().begin(), last_exits().end()));
  write_state(w, applied_until);
  write_state(w, evaluated());
  write_state(w, timer);
  write_state(w, evaluate_all_at());
}

ProfileState ProfileState::read(StateReader& r) {
  ProfileState s;
  for (uint64_t n = r.u64(); n > 0; --n) s.buffered.push_back(PendingEvent::read(r));
  for (uint64_t n = r.u64(); n > 0; --n) {
    const auto id = read_state<uint32_t>(r);
    if (id >= SegmentRules::kMaxLeaves) throw StateFormatError("segments: bad leaf id");
    s.leaves.get_or_create(id) = LeafState::read(r);
  }
  for (uint64_t n = r.u64(); n > 0; --n) {
    ProfileProperty p;
    p.name = read_symbol(r);
    p.time = read_state<int64_t>(r);
    p.value = OwnedValue::read(r);
    s.properties.push_back(std::move(p));
  }
  const auto inside = read_state<std::vector<uint32_t>>(r);
  s.inside.assign(inside.begin(), inside.end());
  s.last_event_time = read_state<int64_t>(r);
  for (const auto& [segment, time] : read_state<std::vector<std::pair<uint32_t, int64_t>>>(r))
    s.set_last_exit(segment, time);
  s.applied_until = read_state<int64_t>(r);
  s.set_evaluated(read_state<bool>(r));
  s.timer = read_state<int64_t>(r);
  s.set_evaluate_all_at(read_state<int64_t>(r));
  return s;
}

}  // namespace segflow

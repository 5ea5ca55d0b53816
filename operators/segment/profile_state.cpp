#include "operators/segment/profile_state.h"

#include <algorithm>
#include <tuple>

namespace segflow {

namespace {

void write_symbol(StateWriter& w, SymbolId id) { w.str(symbol_name(id)); }
SymbolId read_symbol(StateReader& r) { return intern(r.str()); }

template <class V>
V merge_sorted(const V& a, const V& b) {
  V out;
  out.reserve(a.size() + b.size());
  std::merge(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

}  // namespace

OwnedValue OwnedValue::from(const Value& v) {
  OwnedValue s;
  s.type = v.type();
  switch (v.type()) {
    case ValueType::kBool:
    case ValueType::kInt:
      s.integer = v.as_int();
      break;
    case ValueType::kDouble:
      s.real = v.as_double();
      break;
    case ValueType::kString:
      s.string = std::string(v.as_string());
      break;
    default:
      break;
  }
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
      return Value::string(string);
    default:
      return Value::null();
  }
}

bool OwnedValue::operator<(const OwnedValue& o) const {
  return std::tie(type, integer, real, string) < std::tie(o.type, o.integer, o.real, o.string);
}

void OwnedValue::write(StateWriter& w) const {
  write_state(w, type);
  write_state(w, integer);
  write_state(w, real);
  w.str(string);
}

OwnedValue OwnedValue::read(StateReader& r) {
  OwnedValue s;
  s.type = read_state<ValueType>(r);
  if (s.type > ValueType::kString) throw StateFormatError("segments: bad value type");
  s.integer = read_state<int64_t>(r);
  s.real = read_state<double>(r);
  s.string = r.str();
  return s;
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

void LeafState::write(StateWriter& w) const {
  // Written as a std::vector: the same bytes as before entries were kept inline.
  w.u64(entries.size());
  for (const auto& [time, value] : entries) {
    write_state(w, time);
    write_state(w, value);
  }
  write_state(w, last);
}

LeafState LeafState::read(StateReader& r) {
  LeafState s;
  const auto entries = read_state<std::vector<std::pair<int64_t, double>>>(r);
  s.entries.assign(entries.begin(), entries.end());
  s.last = read_state<int64_t>(r);
  return s;
}

void ProfileState::buffer(PendingEvent e) {
  const auto at = std::upper_bound(buffered.begin(), buffered.end(), e.time,
                                   [](int64_t t, const PendingEvent& p) { return t < p.time; });
  buffered.insert(at, std::move(e));
}

LeafState* ProfileState::leaf(uint32_t id) {
  const auto it = leaves.find(id);
  return it != leaves.end() ? &it->second : nullptr;
}

LeafState& ProfileState::leaf_or_create(uint32_t id) { return leaves[id]; }

void ProfileState::erase_leaf(uint32_t id) { leaves.erase(id); }

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
  properties.push_back({name, time, value});
  return true;
}

bool ProfileState::is_inside(uint32_t segment) const {
  return std::binary_search(inside.begin(), inside.end(), segment);
}

void ProfileState::set_inside(uint32_t segment, bool in) {
  const auto it = std::lower_bound(inside.begin(), inside.end(), segment);
  const bool present = it != inside.end() && *it == segment;
  if (in && !present) inside.insert(it, segment);
  if (!in && present) inside.erase(it);
}

int64_t ProfileState::last_exit(uint32_t segment) const {
  for (const auto& [s, t] : last_exits)
    if (s == segment) return t;
  return kMinTime;
}

void ProfileState::set_last_exit(uint32_t segment, int64_t time) {
  for (auto& [s, t] : last_exits) {
    if (s != segment) continue;
    t = std::max(t, time);
    return;
  }
  last_exits.emplace_back(segment, time);
}

void ProfileState::merge(const ProfileState& other) {
  for (const PendingEvent& e : other.buffered) buffer(e);
  for (const auto& [id, theirs] : other.leaves) {
    LeafState& mine = leaf_or_create(id);
    mine.entries = merge_sorted(mine.entries, theirs.entries);
    mine.last = std::max(mine.last, theirs.last);
  }
  for (const ProfileProperty& p : other.properties) update_property(p.name, p.time, p.value);
  last_event_time = std::max(last_event_time, other.last_event_time);
  for (const auto& [segment, time] : other.last_exits) set_last_exit(segment, time);
  applied_until = std::max(applied_until, other.applied_until);
  evaluated = evaluated && other.evaluated;
  deadlines.clear();
  cleanup_at = kMinTime;
}

void ProfileState::write(StateWriter& w) const {
  w.u64(buffered.size());
  for (const PendingEvent& e : buffered) e.write(w);
  boost::container::small_vector<uint32_t, 32> ids;  // no allocation for most profiles
  for (const auto& [id, leaf] : leaves) ids.push_back(id);
  std::sort(ids.begin(), ids.end());  // deterministic snapshots
  w.u64(ids.size());
  for (uint32_t id : ids) {
    write_state(w, id);
    leaves.at(id).write(w);
  }
  w.u64(properties.size());
  for (const ProfileProperty& p : properties) {
    write_symbol(w, p.name);
    write_state(w, p.time);
    p.value.write(w);
  }
  write_state(w, inside);
  write_state(w, last_event_time);
  write_state(w, last_exits);
  write_state(w, applied_until);
  write_state(w, evaluated);
  write_state(w, timer);
  write_state(w, evaluate_all_at);
}

ProfileState ProfileState::read(StateReader& r) {
  ProfileState s;
  for (uint64_t n = r.u64(); n > 0; --n) s.buffered.push_back(PendingEvent::read(r));
  for (uint64_t n = r.u64(); n > 0; --n) {
    const auto id = read_state<uint32_t>(r);
    s.leaves.insert_or_assign(id, LeafState::read(r));
  }
  for (uint64_t n = r.u64(); n > 0; --n) {
    ProfileProperty p;
    p.name = read_symbol(r);
    p.time = read_state<int64_t>(r);
    p.value = OwnedValue::read(r);
    s.properties.push_back(std::move(p));
  }
  s.inside = read_state<std::vector<uint32_t>>(r);
  s.last_event_time = read_state<int64_t>(r);
  s.last_exits = read_state<std::vector<std::pair<uint32_t, int64_t>>>(r);
  s.applied_until = read_state<int64_t>(r);
  s.evaluated = read_state<bool>(r);
  s.timer = read_state<int64_t>(r);
  s.evaluate_all_at = read_state<int64_t>(r);
  return s;
}

}  // namespace segflow

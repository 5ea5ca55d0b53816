#include "operators/identity/identity_graph.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <xxhash.h>

namespace segflow {

namespace {
// 2: link times of scoped types after the profile arrays.
constexpr uint64_t kStateFormatVersion = 2;
constexpr int64_t kNoTime = INT64_MIN;

// Identifiers linked after this time count towards a limit scoped to `within` at `time`.
int64_t scope_start(int64_t time, int64_t within) {
  return time < INT64_MIN + within ? INT64_MIN : time - within;
}
}  // namespace

IdentityGraph::IdentityGraph(std::vector<IdentifierLimit> limits, uint32_t max_merges)
    : limits_(std::move(limits)),
      types_(static_cast<uint32_t>(limits_.size())),
      max_merges_(std::min<uint32_t>(max_merges, UINT16_MAX)) {
  for (const IdentifierLimit& l : limits_) {
    // limit + 1 times: a count above the limit is then still seen as one (merge checks add
    // two profiles' counts).
    const uint32_t slots = l.within_ms > 0 ? uint32_t{l.count} + 1 : 0;
    slots_.push_back(slots);
    time_offset_.push_back(times_per_profile_);
    times_per_profile_ += slots;
  }
}

IdentityGraph::Key IdentityGraph::key_of(const IdentifierRef& id) {
  const XXH128_hash_t h = XXH3_128bits_withSeed(id.value.data(), id.value.size(), id.type + 1);
  Key k;
  std::memcpy(&k.h[0], &h.low64, 8);
  std::memcpy(&k.h[2], &h.high64, 8);
  return k;
}

IdentityGraph::ProfileId IdentityGraph::find(ProfileId p) {
  ProfileId root = p;
  while (parent_[root] != root) root = parent_[root];
  while (parent_[p] != root) p = std::exchange(parent_[p], root);
  return root;
}

bool IdentityGraph::lookup(const IdentifierRef& id, ProfileId& profile) {
  auto it = identifiers_.find(key_of(id));
  if (it == identifiers_.end()) return false;
  profile = find(it->second);
  return true;
}

IdentityGraph::ProfileId IdentityGraph::create(const Key& key, uint32_t type, int64_t time) {
  const auto p = static_cast<ProfileId>(parent_.size());
  parent_.push_back(p);
  merges_.push_back(0);
  counts_.resize(counts_.size() + types_, 0);
  times_.resize(times_.size() + times_per_profile_, kNoTime);
  link(p, type, time);
  identifiers_.emplace(key, p);
  return p;
}

uint32_t IdentityGraph::linked_within(ProfileId p, uint32_t type, int64_t time) const {
  const int64_t start = scope_start(time, limits_[type].within_ms);
  const int64_t* times = link_times(p, type);
  uint32_t n = 0;
  for (uint32_t i = 0; i < slots_[type]; ++i) n += times[i] != kNoTime && times[i] > start;
  return n;
}

bool IdentityGraph::fits_one_more(ProfileId p, uint32_t type, int64_t time) const {
  const uint32_t held = slots_[type] != 0 ? linked_within(p, type, time) : count(p, type);
  return held + 1 <= limits_[type].count;
}

void IdentityGraph::link(ProfileId p, uint32_t type, int64_t time) {
  if (slots_[type] == 0) {
    ++count(p, type);
    return;
  }
  // Keep the most recent times: replace the oldest (or an unused slot) if `time` is newer.
  int64_t* times = link_times(p, type);
  int64_t* oldest = std::min_element(times, times + slots_[type]);
  if (*oldest == kNoTime || time > *oldest) *oldest = time;
}

bool IdentityGraph::fits_merge(ProfileId a, ProfileId b, int64_t time, Refused& why) const {
  for (uint32_t t = 0; t < types_; ++t) {
    const uint32_t held = slots_[t] != 0 ? linked_within(a, t, time) + linked_within(b, t, time)
                                         : uint32_t{count(a, t)} + count(b, t);
    if (held > limits_[t].count) {
      why.reason = Refusal::kTypeLimit;
      why.type = t;
      return false;
    }
  }
  if (uint32_t{merges_[a]} + merges_[b] + 1 > max_merges_) {
    why.reason = Refusal::kMergeCap;
    why.type = 0;
    return false;
  }
  return true;
}

IdentityGraph::ProfileId IdentityGraph::unite(ProfileId a, ProfileId b) {
  const ProfileId survivor = std::min(a, b);
  const ProfileId merged = std::max(a, b);
  parent_[merged] = survivor;
  ++merged_away_;
  for (uint32_t t = 0; t < types_; ++t) {
    if (slots_[t] == 0) {
      count(survivor, t) += count(merged, t);
      continue;
    }
    // The survivor keeps the most recent link times of both.
    const int64_t* from = link_times(merged, t);
    for (uint32_t i = 0; i < slots_[t]; ++i)
      if (from[i] != kNoTime) link(survivor, t, from[i]);
  }
  merges_[survivor] = static_cast<uint16_t>(merges_[survivor] + merges_[merged] + 1);
  return survivor;
}

void IdentityGraph::resolve(std::span<const IdentifierRef> ids, int64_t time, Resolution& out) {
  out.created = false;
  out.merges.clear();
  out.refused.clear();
  // First every identifier's table entry, then the rules: the lookups of one event do not
  // depend on each other, so their cache misses overlap. (What an entry holds cannot change
  // while the event's earlier identifiers are applied: those only add entries of other keys
  // and re-parent profiles, which find() follows.)
  pending_.clear();
  for (size_t i = 0; i < ids.size(); ++i) {
    const Key key = key_of(ids[i]);
    bool seen = false;  // the same identifier twice in one event
    for (const Pending& e : pending_) seen = seen || e.key == key;
    if (!seen) pending_.push_back({key, static_cast<uint32_t>(i), kNoProfile});
  }
  for (Pending& e : pending_) {
    auto it = identifiers_.find(e.key);
    if (it != identifiers_.end()) e.profile = it->second;
  }
  bool have_profile = false;
  ProfileId p = 0;
  for (const Pending& e : pending_) {
    const size_t i = e.index;
    const uint32_t type = ids[i].type;
    if (e.profile != kNoProfile) {
      const ProfileId q = find(e.profile);
      if (!have_profile) {
        p = q;
        have_profile = true;
      } else if (q != p) {
        Refused why{i, p, q, Refusal::kTypeLimit, 0};
        if (fits_merge(p, q, time, why)) {
          const ProfileId survivor = unite(p, q);
          out.merges.push_back({survivor, survivor == p ? q : p, i});
          p = survivor;
        } else {
          out.refused.push_back(why);
        }
      }
    } else if (!have_profile) {
      p = create(e.key, type, time);
      have_profile = true;
      out.created = true;
    } else if (fits_one_more(p, type, time)) {
      link(p, type, time);
      identifiers_.emplace(e.key, p);
    } else {
      out.refused.push_back({i, p, p, Refusal::kTypeLimit, type});
    }
  }
  out.profile = p;
}

size_t IdentityGraph::memory_bytes() const {
  // Flat map: one slot (key + value) plus one metadata byte per bucket slot.
  const size_t slots = identifiers_.bucket_count();
  return slots * (sizeof(std::pair<Key, ProfileId>) + 1) + parent_.capacity() * sizeof(ProfileId) +
         merges_.capacity() * sizeof(uint16_t) + counts_.capacity() +
         times_.capacity() * sizeof(int64_t);
}

void IdentityGraph::snapshot(StateWriter& w) const {
  w.u64(kStateFormatVersion);
  w.u64(types_);
  write_state(w, parent_);
  write_state(w, merges_);
  write_state(w, counts_);
  write_state(w, times_);
  w.u64(identifiers_.size());
  for (const auto& [key, profile] : identifiers_) {
    w.bytes(key.h, sizeof key.h);
    write_state(w, profile);
  }
}

void IdentityGraph::restore(StateReader& r) {
  const uint64_t version = r.u64();
  if (version != 1 && version != kStateFormatVersion)
    throw StateFormatError("identity: unknown state format version " + std::to_string(version));
  if (r.u64() != types_)
    throw StateFormatError("identity: the snapshot has another number of identifier types");
  parent_ = read_state<std::vector<ProfileId>>(r);
  merges_ = read_state<std::vector<uint16_t>>(r);
  counts_ = read_state<std::vector<uint8_t>>(r);
  if (version >= 2)
    times_ = read_state<std::vector<int64_t>>(r);
  else  // before time scopes: no link times kept (scoped identifiers count as long ago)
    times_.assign(parent_.size() * times_per_profile_, kNoTime);
  if (merges_.size() != parent_.size() || counts_.size() != parent_.size() * types_ ||
      times_.size() != parent_.size() * times_per_profile_)
    throw StateFormatError("identity: inconsistent profile arrays (were the limits changed?)");
  identifiers_.clear();
  for (uint64_t n = r.u64(); n > 0; --n) {
    Key key;
    r.bytes(key.h, sizeof key.h);
    const auto profile = read_state<ProfileId>(r);
    if (profile >= parent_.size()) throw StateFormatError("identity: profile out of range");
    identifiers_.emplace(key, profile);
  }
  merged_away_ = 0;
  for (size_t p = 0; p < parent_.size(); ++p) {
    if (parent_[p] >= parent_.size()) throw StateFormatError("identity: parent out of range");
    merged_away_ += parent_[p] != p;
  }
}

}  // namespace segflow

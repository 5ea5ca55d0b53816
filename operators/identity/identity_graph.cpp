#include "operators/identity/identity_graph.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <utility>

#include <xxhash.h>

namespace segflow {

namespace {
constexpr uint64_t kStateFormatVersion = 1;
}

IdentityGraph::IdentityGraph(std::vector<uint8_t> limits, uint32_t max_merges)
    : limits_(std::move(limits)),
      types_(static_cast<uint32_t>(limits_.size())),
      max_merges_(std::min<uint32_t>(max_merges, UINT16_MAX)) {}

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

IdentityGraph::ProfileId IdentityGraph::create(const Key& key, uint32_t type) {
  const auto p = static_cast<ProfileId>(parent_.size());
  parent_.push_back(p);
  merges_.push_back(0);
  counts_.resize(counts_.size() + types_, 0);
  count(p, type) = 1;
  identifiers_.emplace(key, p);
  return p;
}

bool IdentityGraph::fits_merge(ProfileId a, ProfileId b, Refused& why) const {
  for (uint32_t t = 0; t < types_; ++t) {
    if (count(a, t) + count(b, t) > limits_[t]) {
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
  for (uint32_t t = 0; t < types_; ++t) count(survivor, t) += count(merged, t);
  merges_[survivor] = static_cast<uint16_t>(merges_[survivor] + merges_[merged] + 1);
  return survivor;
}

void IdentityGraph::resolve(std::span<const IdentifierRef> ids, Resolution& out) {
  out.created = false;
  out.merges.clear();
  out.refused.clear();
  scratch_keys_.clear();
  bool have_profile = false;
  ProfileId p = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const IdentifierRef& id = ids[i];
    const Key key = key_of(id);
    if (std::find(scratch_keys_.begin(), scratch_keys_.end(), key) != scratch_keys_.end())
      continue;  // the same identifier twice in one event
    scratch_keys_.push_back(key);
    auto it = identifiers_.find(key);
    if (it != identifiers_.end()) {
      const ProfileId q = find(it->second);
      if (!have_profile) {
        p = q;
        have_profile = true;
      } else if (q != p) {
        Refused why{i, p, q, Refusal::kTypeLimit, 0};
        if (fits_merge(p, q, why)) {
          const ProfileId survivor = unite(p, q);
          out.merges.push_back({survivor, survivor == p ? q : p, i});
          p = survivor;
        } else {
          out.refused.push_back(why);
        }
      }
    } else if (!have_profile) {
      p = create(key, id.type);
      have_profile = true;
      out.created = true;
    } else if (count(p, id.type) + 1 <= limits_[id.type]) {
      ++count(p, id.type);
      identifiers_.emplace(key, p);
    } else {
      out.refused.push_back({i, p, p, Refusal::kTypeLimit, id.type});
    }
  }
  out.profile = p;
}

size_t IdentityGraph::memory_bytes() const {
  // Flat map: one slot (key + value) plus one metadata byte per bucket slot.
  const size_t slots = identifiers_.bucket_count();
  return slots * (sizeof(std::pair<Key, ProfileId>) + 1) + parent_.capacity() * sizeof(ProfileId) +
         merges_.capacity() * sizeof(uint16_t) + counts_.capacity();
}

void IdentityGraph::snapshot(StateWriter& w) const {
  w.u64(kStateFormatVersion);
  w.u64(types_);
  write_state(w, parent_);
  write_state(w, merges_);
  write_state(w, counts_);
  w.u64(identifiers_.size());
  for (const auto& [key, profile] : identifiers_) {
    w.bytes(key.h, sizeof key.h);
    write_state(w, profile);
  }
}

void IdentityGraph::restore(StateReader& r) {
  const uint64_t version = r.u64();
  if (version != kStateFormatVersion)
    throw StateFormatError("identity: unknown state format version " + std::to_string(version));
  if (r.u64() != types_)
    throw StateFormatError("identity: the snapshot has another number of identifier types");
  parent_ = read_state<std::vector<ProfileId>>(r);
  merges_ = read_state<std::vector<uint16_t>>(r);
  counts_ = read_state<std::vector<uint8_t>>(r);
  if (merges_.size() != parent_.size() || counts_.size() != parent_.size() * types_)
    throw StateFormatError("identity: inconsistent profile arrays");
  identifiers_.clear();
  for (uint64_t n = r.u64(); n > 0; --n) {
    Key key;
    r.bytes(key.h, sizeof key.h);
    const auto profile = read_state<ProfileId>(r);
    if (profile >= parent_.size()) throw StateFormatError("identity: profile out of range");
    identifiers_.emplace(key, profile);
  }
  for (ProfileId p : parent_)
    if (p >= parent_.size()) throw StateFormatError("identity: parent out of range");
}

}  // namespace segflow

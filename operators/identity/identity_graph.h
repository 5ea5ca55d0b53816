// IdentityGraph: the union-find of identity resolution. Identifiers (a type index and a
// normalised value) belong to profiles; an event's identifiers are resolved together, and
// the rules are applied at union time:
//   - a limit per identifier type (a profile holds at most `limit` identifiers of a type),
//     optionally per time scope: a type with `within_ms` W > 0 counts only the identifiers
//     of that type linked to the profile by events with event time after T - W, where T is
//     the event time of the event being resolved (so a profile may collect many anonymous
//     ids over a year, but at most 5 a day); a type without a scope counts them all, ever;
//   - a hard cap of merges per profile (merges of the profiles merged in count too);
//   - priority: identifiers are resolved in priority order (type 0 highest); a link that
//     would break a rule leaves the lower-priority identifier out (it is not linked and its
//     profile is not merged), and the event stays with the profile resolved so far.
// Resolution of one event at time T (the identifiers in priority order, duplicates removed):
//   P := none. For each identifier i:
//     known, in profile Q:  P none -> P := Q;  Q == P -> nothing;
//                           else merge P and Q if the combined profile keeps every type
//                           limit (scoped types: counted at T) and the merge cap, else
//                           refuse (i left out).
//     unknown:              P none -> P := new profile holding i (linked at T);
//                           else add i to P (linked at T) if P keeps its type limit, else
//                           refuse.
// A merge keeps the older profile (lower number): profile ids are stable as far as the
// rules allow, and the survivor of a chain of merges is the oldest profile in it.
//
// Memory: an identifier is stored as a 128-bit XXH3 hash of (type, value) in an open-
// addressing table (20 bytes a slot) pointing at the profile it was first added to; a
// profile is a parent link, a merge count and one byte per type (limits up to 255). The
// values themselves are not kept (the merge log has them). Two different identifiers
// collide with probability about n^2 / 2^129 (1e-25 for 10 million). A scoped type adds
// limit + 1 link times per profile (the most recent ones: enough to decide every check
// exactly, since a check only asks whether a count exceeds the limit).
// Thread safety: none; owned by one identity subtask.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "engine/state_io.h"

namespace segflow {

// One identifier of an event: its type (index into the limits, 0 = highest priority) and
// its normalised value.
struct IdentifierRef {
  uint32_t type = 0;
  std::string_view value;
};

// The limit of one identifier type: at most `count` identifiers per profile, linked within
// the last `within_ms` of event time (0: ever).
struct IdentifierLimit {
  uint8_t count = 5;
  int64_t within_ms = 0;
};

class IdentityGraph {
 public:
  using ProfileId = uint32_t;

  enum class Refusal : uint8_t { kTypeLimit, kMergeCap };
  struct Merge {
    ProfileId survivor;
    ProfileId merged;
    size_t identifier;  // index into the event's identifiers
  };
  struct Refused {
    size_t identifier;  // index into the event's identifiers
    ProfileId profile;  // the profile the identifier was not linked to
    ProfileId other;    // its own profile when it was known, else profile
    Refusal reason;
    uint32_t type;  // the type whose limit was broken (kTypeLimit)
  };
  // The outcome of resolving one event; reused across calls to avoid allocation.
  struct Resolution {
    ProfileId profile = 0;  // the event's canonical profile
    bool created = false;   // a new profile was made for it
    std::vector<Merge> merges;
    std::vector<Refused> refused;
  };

  // `limits[t]`: identifiers of type t per profile (count 1..255); `max_merges`: per
  // profile.
  IdentityGraph(std::vector<IdentifierLimit> limits, uint32_t max_merges);

  // Resolves the identifiers of one event (in priority order, at least one) with event time
  // `time` (what scoped limits count from).
  void resolve(std::span<const IdentifierRef> ids, int64_t time, Resolution& out);

  // The canonical profile of an identifier, if known.
  bool lookup(const IdentifierRef& id, ProfileId& profile);
  ProfileId find(ProfileId p);

  size_t identifier_count() const { return identifiers_.size(); }
  size_t profile_count() const { return parent_.size(); }  // including merged-away ones
  size_t live_profile_count() const { return parent_.size() - merged_away_; }
  // Heap bytes held (table slots and profile arrays).
  size_t memory_bytes() const;

  void snapshot(StateWriter& w) const;
  void restore(StateReader& r);

 private:
  struct Key {
    uint32_t h[4];
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    using is_avalanching = std::true_type;
    size_t operator()(const Key& k) const { return (static_cast<size_t>(k.h[1]) << 32) | k.h[0]; }
  };

  static Key key_of(const IdentifierRef& id);
  ProfileId create(const Key& key, uint32_t type, int64_t time);
  bool fits_merge(ProfileId a, ProfileId b, int64_t time, Refused& why) const;
  ProfileId unite(ProfileId a, ProfileId b);
  bool fits_one_more(ProfileId p, uint32_t type, int64_t time) const;
  void link(ProfileId p, uint32_t type, int64_t time);
  // Scoped types: the link times of profile p's identifiers of `type` (slots_[type] of
  // them, the most recent; kNoTime when unused), and how many are after time - scope.
  int64_t* link_times(ProfileId p, uint32_t type) {
    return times_.data() + size_t{p} * times_per_profile_ + time_offset_[type];
  }
  const int64_t* link_times(ProfileId p, uint32_t type) const {
    return times_.data() + size_t{p} * times_per_profile_ + time_offset_[type];
  }
  uint32_t linked_within(ProfileId p, uint32_t type, int64_t time) const;
  uint8_t& count(ProfileId p, uint32_t type) { return counts_[size_t{p} * types_ + type]; }
  uint8_t count(ProfileId p, uint32_t type) const { return counts_[size_t{p} * types_ + type]; }

  std::vector<IdentifierLimit> limits_;
  uint32_t types_;
  uint32_t max_merges_;
  std::vector<uint32_t> slots_;        // per type: link times kept (0: not scoped)
  std::vector<uint32_t> time_offset_;  // per type: its first slot within a profile's times
  uint32_t times_per_profile_ = 0;
  std::vector<int64_t> times_;  // profile-major, times_per_profile_ per profile
  size_t merged_away_ = 0;
  boost::unordered_flat_map<Key, ProfileId, KeyHash> identifiers_;
  std::vector<ProfileId> parent_;
  std::vector<uint16_t> merges_;
  std::vector<uint8_t> counts_;  // profile-major, types_ per profile
  // resolve()'s scratch: the event's distinct identifiers and the profile each was added
  // to (kNoProfile: unknown).
  static constexpr ProfileId kNoProfile = UINT32_MAX;
  struct Pending {
    Key key;
    uint32_t index;  // into the event's identifiers
    ProfileId profile;
  };
  std::vector<Pending> pending_;
};

}  // namespace segflow

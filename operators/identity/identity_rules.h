// IdentityRules: the parsed `identity` operator settings: which properties are identifiers
// (type, property, normalisation, limit per profile, in priority order), how alias calls
// link, the merge cap and the values that never link. Extracts an event's identifiers.
// A type's limit may be scoped in time (`within: 1d`: at most `limit` identifiers of that
// type linked to a profile within a day of event time; default `ever`).
// Thread safety: immutable after parse; extract() uses caller-owned scratch space.
#pragma once

#include <cstdint>
#include <deque>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/batch.h"
#include "engine/config_node.h"
#include "operators/identity/identity_graph.h"

namespace segflow {

struct IdentityRules {
  static constexpr size_t kMaxTypes = 32;
  enum class Normalize : uint8_t { kNone, kEmail };
  struct IdentifierType {
    std::string name;  // e.g. user_id
    SymbolId property = kNoSymbol;
    Normalize normalize = Normalize::kNone;
    uint8_t limit = 5;
    int64_t within_ms = 0;  // the limit's time scope; 0: ever
  };
  std::vector<IdentifierType> types;    // priority order, highest first
  SymbolId alias_property = kNoSymbol;  // kNoSymbol: alias calls link nothing extra
  uint32_t alias_type = 0;
  uint32_t max_merges = 100;
  std::vector<std::string> blocked_values;  // lower-cased, compared case-insensitively
  size_t longest_blocked_value = 0;
  bool block_zeros_and_dashes = true;
  std::vector<std::regex> blocked_patterns;  // full match
  std::vector<std::string> blocked_pattern_texts;
  std::string profile_prefix = "profile-";
  std::string merge_log_path;  // "" : no merge log
  bool emit_profile_merged = true;
  // What extract() looks for. Slots: one per type, then the alias property. Indexed by
  // property symbol: the first slot reading that property + 1, or 0 (not an identifier);
  // per slot: the slot whose value it takes (itself, or an earlier one of the same property).
  std::vector<uint8_t> slot_of_property;
  std::vector<uint8_t> value_slot;

  static IdentityRules parse(const ConfigNode& node);
  std::vector<IdentifierLimit> limits() const;

  // True when `value` (normalised) never links.
  bool blocked(std::string_view value) const;
  // Appends the identifiers of `r` in priority order to `ids`; normalised values that need
  // new bytes go to `storage` (kept alive by the caller until `ids` is used).
  void extract(const Batch& batch, const Record& r, std::vector<IdentifierRef>& ids,
               std::deque<std::string>& storage) const;
};

// Trims ASCII white space and lower-cases ASCII letters.
std::string normalize_email(std::string_view value);

}  // namespace segflow

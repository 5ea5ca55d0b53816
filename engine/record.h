// Record: one event as it travels through the graph. 40 bytes, no owned memory: the key and
// string property values live in the arena of the Batch holding the record, and its
// properties are a contiguous slice of that batch's property vector.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/symbol_table.h"
#include "engine/value.h"

namespace segflow {

// Segment-spec call type, plus kDerived for records operators make (segment changes...), plus
// the two identity-merge control records (engine/profile_merge.h), which the runtime handles
// itself and never hands to Operator::process.
enum class EventKind : uint8_t {
  kTrack,
  kIdentify,
  kPage,
  kScreen,
  kAlias,
  kGroup,
  kDerived,
  kMergeExport,
  kMergeImport,
};

std::string_view event_kind_name(EventKind kind);
// False when `name` is not a Segment call type.
bool parse_event_kind(std::string_view name, EventKind& kind);

// Event time sentinels: watermarks run from kMinTime to kMaxTime (end of stream).
inline constexpr int64_t kMinTime = INT64_MIN;
inline constexpr int64_t kMaxTime = INT64_MAX;

struct Property {
  SymbolId name;
  Value value;
};

struct Record {
  std::string_view key;        // profile key
  int64_t event_time = 0;      // ms since the Unix epoch
  SymbolId event = kNoSymbol;  // interned event name ("Product Viewed", "identify", ...)
  EventKind kind = EventKind::kTrack;
  uint32_t first_property = 0;
  uint32_t property_count = 0;
};

}  // namespace segflow

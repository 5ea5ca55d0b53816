// MembershipChange: a segment membership change read from a record, the form segment
// operators emit: event `entered` or `exited` (names configurable) and the segment's name in
// a string property (`segment` by default); other properties are ignored, so any operator's
// richer change record fits. Pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "engine/batch.h"

namespace segflow {

// Which event names and property make a record a membership change.
struct ChangeNames {
  SymbolId entered = kNoSymbol;
  SymbolId exited = kNoSymbol;
  SymbolId segment_property = kNoSymbol;
};

struct MembershipChange {
  std::string profile;
  std::string segment;
  int64_t time = 0;  // event time of the change, ms
  bool entered = false;
};

// Fills `change` from record `r` of `batch` and returns nullptr, or returns the reason `r` is
// not a membership change: "not a segment change" (another event) or "missing segment" (no
// non-empty string segment property).
const char* read_membership_change(const Batch& batch, const Record& r, const ChangeNames& names,
                                   MembershipChange& change);

}  // namespace segflow

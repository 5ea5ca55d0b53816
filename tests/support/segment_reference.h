// SegmentReference: a naive evaluator of segment rules, independent of the segments
// operator's incremental state: for every profile it collects all events, lists every
// instant at which any leaf value could change (event times, window expiries, absence
// maturities and ends, recency thresholds), and at each instant recomputes every leaf of
// every segment from the full event list. Used as the oracle of the operator's tests.
// Thread safety: none.
#pragma once

#include <string>
#include <vector>

#include "operators/segment/segment_rules.h"
#include "tests/support/operator_harness.h"

namespace segflow::testing {

// The entered/exited records the rules give over `events` (any order), rendered as
// OutputRecord::str() lines, sorted. emitted_at is not produced.
std::vector<std::string> reference_segment_changes(const SegmentRules& rules,
                                                   const std::vector<InputRecord>& events);

}  // namespace segflow::testing

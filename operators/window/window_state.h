// The keyed state of a `window` operator for one profile: pane accumulators (tumbling and
// sliding windows are combined from panes of gcd(size, slide)), open sessions, how far its
// windows have fired, and its pending timer. Mergeable: every part is a set of accumulators.
// Thread safety: a plain value type, owned by one subtask's keyed state.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "engine/record.h"
#include "engine/state_io.h"
#include "operators/window/accumulator.h"

namespace segflow {

// One accumulator per configured aggregate; up to two inline (no allocation per pane for
// e.g. count + sum).
using Accumulators = boost::container::small_vector<Accumulator, 2>;
void write_accumulators(StateWriter& w, const Accumulators& accs);
Accumulators read_accumulators(StateReader& r);

struct Pane {
  int64_t start = 0;  // [start, start + pane)
  Accumulators accs;
  void write(StateWriter& w) const;
  static Pane read(StateReader& r);
};

struct Session {
  int64_t start = 0;  // first event time
  int64_t end = 0;    // last event time + gap (exclusive)
  bool fired = false;
  Accumulators accs;
  void write(StateWriter& w) const;
  static Session read(StateReader& r);
};

inline constexpr int64_t kNoTimer = kMinTime;

// Field order: what every event reads first (next to the key in the state's table), the
// panes' accumulators next, sessions (unused by panes) last.
struct KeyWindows {
  // Sliding/tumbling: every window starting before this has fired or passed.
  int64_t next_start = kMinTime;
  int64_t timer = kNoTimer;  // the registered event-time timer, if any

  // Not part of snapshots: partial merges that make a fired sliding window cost O(1)
  // amortised instead of size/slide pane merges. A window [s, s + size) not aligned to
  // size spans the blocks [b, b + size) and [b + size, b + 2 size), b = floor(s / size):
  // its result is the merge of a suffix of the first block and a prefix of the second.
  // Dropped whenever a pane they cover changes. Allocated only by sliding windows that use
  // it, so tumbling and session state stays small.
  struct SlideCache {
    int64_t suffix_block = kMinTime;
    // (pane start, merge of the block's panes from it to the block's end), ascending.
    std::vector<std::pair<int64_t, Accumulators>> suffix;
    int64_t prefix_block = kMinTime;
    int64_t prefix_end = 0;  // `prefix` merges the block's panes in [block, prefix_end)
    Accumulators prefix;
  };
  std::unique_ptr<SlideCache> cache;
  // Ascending start. One inline: a tumbling window's profile allocates nothing per window.
  boost::container::small_vector<Pane, 1> panes;
  std::vector<Session> sessions;  // ascending start, disjoint

  bool empty() const { return panes.empty() && sessions.empty(); }
  void write(StateWriter& w) const;
  static KeyWindows read(StateReader& r);
};

}  // namespace segflow

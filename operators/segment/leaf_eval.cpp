#include "operators/segment/leaf_eval.h"

#include <algorithm>

namespace segflow {

namespace {

LeafValue null_value() { return {}; }

class NoProperties final : public PropertySource {
 public:
  const Value* find(SymbolId /*name*/) const override { return nullptr; }
};
const NoProperties kNoProperties;
LeafValue make_value(LeafValue::Kind kind, double n) { return {kind, n}; }

// The first of `entries` (pruned for the longest window reading them) inside the leaf's own
// window at `now`: those before it aged out of a shorter window only.
uint32_t first_in_window(const Leaf& leaf, const LeafEntries& entries, int64_t now) {
  if (!leaf.shorter_than_kept) return 0;  // pruned for its own window
  uint32_t lo = 0;
  uint32_t hi = entries.size();
  if (hi == 0 || add_time(entries.time(0), leaf.within_ms) > now) return 0;
  while (hi - lo > 1) {  // entries.time(lo) aged out; entries.time(hi) (if any) did not
    const uint32_t mid = lo + (hi - lo) / 2;
    (add_time(entries.time(mid), leaf.within_ms) > now ? hi : lo) = mid;
  }
  return hi;
}

LeafResult window_value(const Leaf& leaf, const LeafState* state, int64_t now) {
  static const LeafEntries kNoEntries;
  const LeafEntries& entries = state != nullptr ? state->entries : kNoEntries;
  const uint32_t first = first_in_window(leaf, entries, now);
  const uint32_t end = entries.size();
  double value = 0;
  switch (leaf.fn) {
    case WindowFn::kCount: {
      value = static_cast<double>(end - first);
      return {leaf.test.holds(value), make_value(LeafValue::Kind::kInt, value)};
    }
    case WindowFn::kSum:
      for (uint32_t i = first; i < end; ++i) value += entries.value(i);
      return {leaf.test.holds(value), make_value(LeafValue::Kind::kDouble, value)};
    default:
      break;
  }
  if (first == end) return {false, null_value()};
  if (leaf.fn == WindowFn::kMin || leaf.fn == WindowFn::kMax) {
    value = entries.value(first);
    for (uint32_t i = first; i < end; ++i)
      value = leaf.fn == WindowFn::kMin ? std::min(value, entries.value(i))
                                        : std::max(value, entries.value(i));
  } else {
    for (uint32_t i = first; i < end; ++i) value += entries.value(i);
    value /= static_cast<double>(end - first);
  }
  return {leaf.test.holds(value), make_value(LeafValue::Kind::kDouble, value)};
}

// The instants at which a recency comparison with `last` may change: last + d, last + d + 1.
int64_t recency_change(const Leaf& leaf, int64_t last, int64_t now) {
  const int64_t d = static_cast<int64_t>(leaf.test.value);
  const int64_t at = add_time(last, std::max<int64_t>(d, 0));
  if (at > now) return at;
  const int64_t after = add_time(at, 1);
  return after > now ? after : kMaxTime;
}

// A window's next instant with no event, over its entries from `first` (those in its own
// window): for a count, the first entry expiry after which the test may flip (it is a
// function of the count alone), else the last entry's (the leaf's window empties then); other
// functions: the oldest entry's expiry. kMaxTime when its window holds none.
int64_t window_change(const Leaf& leaf, const LeafEntries& entries, uint32_t first,
                      bool& empties_only) {
  const uint32_t end = entries.size();
  if (first == end) return kMaxTime;
  if (leaf.fn != WindowFn::kCount) return add_time(entries.time(first), leaf.within_ms);
  // As the count falls from n, the outcome can first differ only where the comparison's
  // class (below, equal to, above the threshold) changes: at floor(v) or ceil(v) - 1.
  const auto n = static_cast<double>(end - first);
  const bool holds_now = leaf.test.holds(n);
  double flips_at = -1;  // the largest count below n with the other outcome
  for (const double c : leaf.count_flips)
    if (c >= 0 && c < n && leaf.test.holds(c) != holds_now) flips_at = std::max(flips_at, c);
  if (flips_at < 0) {
    empties_only = true;
    return add_time(entries.time(end - 1), leaf.within_ms);
  }
  const auto dropped = static_cast<uint32_t>(n - flips_at);
  return add_time(entries.time(first + dropped - 1), leaf.within_ms);
}

// An RFM score, 1..5 (segment_rules.h, RfmSettings).
int rfm_score(const Leaf& leaf, const LeafState* state, int64_t now) {
  const auto& t = leaf.thresholds;
  if (leaf.score == RfmScore::kRecency) {
    if (state == nullptr || state->last() == kMinTime) return 1;
    const double since = static_cast<double>(now) - static_cast<double>(state->last());
    for (size_t i = 0; i < t.size(); ++i)
      if (since < t[i]) return 5 - static_cast<int>(i);
    return 1;
  }
  double value = 0;
  if (state != nullptr) {
    if (leaf.score == RfmScore::kFrequency) {
      value = static_cast<double>(state->entries.size());
    } else {
      for (uint32_t i = 0; i < state->entries.size(); ++i) value += state->entries.value(i);
    }
  }
  return 1 +
         static_cast<int>(std::count_if(t.begin(), t.end(), [&](double x) { return value >= x; }));
}

}  // namespace

const PropertySource& no_properties() { return kNoProperties; }

Value LeafValue::as_value() const {
  switch (kind) {
    case Kind::kBool:
      return Value::boolean(number != 0);
    case Kind::kInt:  // |number| < 2^63 for every value made here; clamped to be safe
      return Value::integer(static_cast<int64_t>(std::clamp(number, -9.2e18, 9.2e18)));
    case Kind::kDouble:
      return Value::real(number);
    default:
      return Value::null();
  }
}

void apply_feed(const Leaf& leaf, LeafState& state, const LeafFeed& feed, int64_t time) {
  switch (leaf.kind) {
    case LeafKind::kWindow:
    case LeafKind::kAbsence:
      if (leaf.kind == LeafKind::kAbsence && feed.role == LeafFeed::Role::kThen) {
        state.set_last(std::max(state.last(), time));
      } else {
        state.entries.insert(time, feed.value);
      }
      break;
    case LeafKind::kRecency:
      state.set_last(std::max(state.last(), time));
      break;
    case LeafKind::kRfm:
      if (leaf.score == RfmScore::kRecency) {
        state.set_last(std::max(state.last(), time));
      } else {
        state.entries.insert(time, feed.value);
      }
      break;
    case LeafKind::kProfile:
      break;
  }
}

int64_t prune_leaf(const Leaf& leaf, LeafState& state, int64_t now) {
  LeafEntries& entries = state.entries;
  const uint32_t n = entries.size();
  // How many of the oldest entries pass `done`.
  auto leading = [&](auto done) {
    uint32_t i = 0;
    while (i < n && done(entries.time(i))) ++i;
    return i;
  };
  if (leaf.kind == LeafKind::kWindow || leaf.kind == LeafKind::kRfm) {  // rfm r: no entries
    // Kept for the longest window reading them.
    const int64_t keep = leaf.keep_ms;
    if (n == 0) return kMaxTime;
    const int64_t ages_out = add_time(entries.time(n - 1), keep);
    if (ages_out <= now) {  // all aged out
      entries.clear();
      return kMaxTime;
    }
    if (n > 1 && add_time(entries.time(0), keep) <= now)
      entries.erase_front(leading([&](int64_t t) { return add_time(t, keep) <= now; }));
    return ages_out;
  }
  if (leaf.kind == LeafKind::kAbsence) {
    // Cancelled: an `after` event at or before the last then_no event.
    const int64_t last = state.last();
    entries.erase_front(leading([&](int64_t t) { return t <= last; }));
    if (leaf.for_ms > 0) {
      const int64_t span = add_time(leaf.within_ms, leaf.for_ms);
      const uint32_t m = entries.size();
      uint32_t expired = 0;
      while (expired < m && add_time(entries.time(expired), span) <= now) ++expired;
      entries.erase_front(expired);
    } else if (!entries.empty() && add_time(entries.time(0), leaf.within_ms) <= now) {
      // Matured with no end: later `after` events cannot change anything until a then_no
      // event cancels them all together.
      entries.keep_first();
    }
    if (entries.empty()) {
      state.set_last(kMinTime);  // only `after` events later than it remain
      return kMaxTime;
    }
    // A matured `after` with no `for` limit never ages out.
    return leaf.for_ms > 0
               ? add_time(entries.time(entries.size() - 1), add_time(leaf.within_ms, leaf.for_ms))
               : kMaxTime;
  }
  return kMaxTime;
}

LeafResult evaluate_leaf(const Leaf& leaf, const LeafState* state, const PropertySource& profile,
                         int64_t now) {
  switch (leaf.kind) {
    case LeafKind::kWindow:
      return window_value(leaf, state, now);
    case LeafKind::kAbsence: {
      if (state == nullptr || state->entries.empty()) return {false, null_value()};
      const int64_t after = state->entries.time(0);
      if (add_time(after, leaf.within_ms) > now) return {false, null_value()};
      return {true, make_value(LeafValue::Kind::kInt, static_cast<double>(after))};
    }
    case LeafKind::kRecency: {
      if (state == nullptr || state->last() == kMinTime) return {false, null_value()};
      // In double: no overflow whatever the event times.
      const double since = static_cast<double>(now) - static_cast<double>(state->last());
      return {leaf.test.holds(since), make_value(LeafValue::Kind::kInt, since)};
    }
    case LeafKind::kProfile: {
      const bool holds = leaf.profile->test(profile);
      return {holds, make_value(LeafValue::Kind::kBool, holds ? 1 : 0)};
    }
    case LeafKind::kRfm: {
      const auto score = static_cast<double>(rfm_score(leaf, state, now));
      return {leaf.test.holds(score), make_value(LeafValue::Kind::kInt, score)};
    }
  }
  return {};
}

int64_t next_change(const Leaf& leaf, const LeafState& state, int64_t now, bool* empties_only) {
  bool empties = false;
  if (empties_only != nullptr) *empties_only = false;
  switch (leaf.kind) {
    case LeafKind::kWindow: {
      const int64_t at =
          window_change(leaf, state.entries, first_in_window(leaf, state.entries, now), empties);
      if (empties_only != nullptr) *empties_only = empties;
      return at;
    }
    case LeafKind::kAbsence: {
      if (state.entries.empty()) return kMaxTime;
      const int64_t matures = add_time(state.entries.time(0), leaf.within_ms);
      if (matures > now) return matures;
      return leaf.for_ms > 0 ? add_time(matures, leaf.for_ms) : kMaxTime;
    }
    case LeafKind::kRecency:
      return state.last() == kMinTime ? kMaxTime : recency_change(leaf, state.last(), now);
    case LeafKind::kProfile:
      return kMaxTime;
    case LeafKind::kRfm: {
      if (leaf.score != RfmScore::kRecency)  // the value changes as the oldest entry ages out
        return state.entries.empty() ? kMaxTime : add_time(state.entries.time(0), leaf.within_ms);
      if (state.last() == kMinTime) return kMaxTime;
      for (const double t : leaf.thresholds)
        if (const int64_t at = add_time(state.last(), static_cast<int64_t>(t)); at > now) return at;
      return kMaxTime;
    }
  }
  return kMaxTime;
}

LeafOutcome prune_and_evaluate(const Leaf& owner, const Leaf& leaf, LeafState& state, int64_t now) {
  LeafOutcome o;
  if (leaf.kind != LeafKind::kWindow || leaf.fn != WindowFn::kCount || leaf.shorter_than_kept ||
      owner.kind != LeafKind::kWindow) {
    o.ages_out = prune_leaf(owner, state, now);
    o.result = evaluate_leaf(leaf, &state, kNoProperties, now);
    bool empties_only = false;
    const int64_t change = next_change(leaf, state, now, &empties_only);
    o.change = empties_only ? kMaxTime : change;
    return o;
  }
  // prune_leaf: the entries kept for the owner's window (which is this leaf's length).
  LeafEntries& entries = state.entries;
  uint32_t n = entries.size();
  const int64_t keep = owner.keep_ms;
  if (n > 0) {
    o.ages_out = add_time(entries.time(n - 1), keep);
    if (o.ages_out <= now) {
      entries.clear();
      o.ages_out = kMaxTime;
      n = 0;
    } else if (n > 1 && add_time(entries.time(0), keep) <= now) {
      uint32_t aged = 1;
      while (aged < n && add_time(entries.time(aged), keep) <= now) ++aged;
      entries.erase_front(aged);
      n -= aged;
    }
  }
  // evaluate_leaf: the count; next_change: the first expiry after which the test may flip
  // (window_change), none when the count can only fall to counts of the same outcome.
  const auto count = static_cast<double>(n);
  const bool holds = leaf.test.holds(count);
  o.result = {holds, make_value(LeafValue::Kind::kInt, count)};
  double flips_at = -1;
  for (const double c : leaf.count_flips)
    if (c >= 0 && c < count && leaf.test.holds(c) != holds) flips_at = std::max(flips_at, c);
  if (flips_at >= 0)
    o.change = add_time(entries.time(static_cast<uint32_t>(count - flips_at) - 1), leaf.within_ms);
  return o;
}

}  // namespace segflow

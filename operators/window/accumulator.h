// Accumulator: the mergeable partial result of one aggregate (count, sum, min, max, avg,
// first, last, count_distinct) over a set of events; panes, windows and sessions are combined with
// merge(). Results do not depend on the order of add()/merge() except float rounding of sums.
// Thread safety: a plain value type.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/state_io.h"
#include "engine/value.h"
#include "operators/window/distinct_counter.h"

namespace segflow {

// Order matters: count, then the numeric functions up to avg (Accumulator::add's fast path).
enum class AggregateFn : uint8_t { kCount, kSum, kMin, kMax, kAvg, kFirst, kLast, kCountDistinct };

// A property value kept in state (owns its string).
struct StoredValue {
  ValueType type = ValueType::kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;

  static StoredValue of(const Value& v);
  // A view for emitting; strings point into this object.
  Value view() const;
  void write(StateWriter& w) const;
  static StoredValue read(StateReader& r);
};

struct Accumulator {
  uint64_t count = 0;     // events (count) or non-null values (other functions)
  int64_t int_sum = 0;    // sum of integer values
  double double_sum = 0;  // sum of the other numeric values
  double min = 0;
  double max = 0;
  bool any_double = false;  // a non-integer value was added: results are doubles
  bool min_is_int = false;  // min/max came from integer values (emitted as integers)
  bool max_is_int = false;
  // State only first, last and count_distinct need, allocated by them alone: it keeps the
  // accumulators of count/sum/min/max/avg at 56 bytes.
  struct Extra {
    int64_t first_time = 0;  // first/last: the value at the earliest / latest event time
    int64_t last_time = 0;
    uint64_t first_seq = 0;  // ties in time: the earliest / latest arrival wins
    uint64_t last_seq = 0;
    StoredValue first;
    StoredValue last;
    DistinctCounter distinct;  // count_distinct
  };
  std::unique_ptr<Extra> extra;

  Accumulator() = default;
  Accumulator(const Accumulator& o) { *this = o; }
  Accumulator(Accumulator&&) noexcept = default;
  Accumulator& operator=(const Accumulator& o);
  Accumulator& operator=(Accumulator&&) noexcept = default;

  bool empty() const { return count == 0; }
  Extra& x() {
    if (!extra) extra = std::make_unique<Extra>();
    return *extra;
  }
  // Adds one event's value (`v` null when the event lacks the property, or for a plain
  // count). `seq` is the event's arrival number (ties of first/last). `exact_limit`: the
  // distinct values count_distinct keeps exactly before it switches to a sketch.
  void add(AggregateFn fn, const Value* v, int64_t time, uint64_t seq, size_t exact_limit = 0) {
    // Inline: the common functions on numbers; the rest out of line.
    if (fn == AggregateFn::kCount) {
      if (v == nullptr || !v->is_null()) ++count;
      return;
    }
    if (v != nullptr && v->type() == ValueType::kDouble && fn <= AggregateFn::kAvg) {
      add_double(v->as_double());
      return;
    }
    add_other(fn, v, time, seq, exact_limit);
  }
  void merge(AggregateFn fn, const Accumulator& o, size_t exact_limit = 0);
  // The result; null for an empty min/max/avg/first/last/sum.
  Value result(AggregateFn fn) const;

  void write(StateWriter& w) const;
  static Accumulator read(StateReader& r);

 private:
  void add_double(double d) {
    double_sum += d;
    any_double = true;
    if (count == 0 || d < min) {
      min = d;
      min_is_int = false;
    }
    if (count == 0 || d > max) {
      max = d;
      max_is_int = false;
    }
    ++count;
  }
  void add_other(AggregateFn fn, const Value* v, int64_t time, uint64_t seq, size_t exact_limit);
};

}  // namespace segflow

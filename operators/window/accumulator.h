// Accumulator: the mergeable partial result of one aggregate (count, sum, min, max, avg,
// first, last, count_distinct) over a set of events; panes, windows and sessions are combined with
// merge(). Results do not depend on the order of add()/merge() except float rounding of sums.
// Thread safety: a plain value type.
#pragma once

#include <bit>
#include <cstdint>
#include <memory>
#include <string>

#include "engine/state_io.h"
#include "engine/value.h"
#include "operators/window/distinct_counter.h"

namespace segflow {

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

// 24 bytes: the event count with flags in one word, then two words whose meaning depends on
// the function (sum/avg: integer and floating sums; min/max: the value; first, last and
// count_distinct: their heap state). So a pane of count + sum is 48 bytes of accumulators.
class Accumulator {
 public:
  // State only first, last and count_distinct need, allocated by them alone.
  struct Extra {
    int64_t first_time = 0;  // first/last: the value at the earliest / latest event time
    int64_t last_time = 0;
    uint64_t first_seq = 0;  // ties in time: the earliest / latest arrival wins
    uint64_t last_seq = 0;
    StoredValue first;
    StoredValue last;
    DistinctCounter distinct;  // count_distinct
  };

  Accumulator() = default;
  Accumulator(const Accumulator& o) { copy_from(o); }
  Accumulator(Accumulator&& o) noexcept : bits_(o.bits_), word1_(o.word1_), word2_(o.word2_) {
    o.bits_ = 0;
  }
  Accumulator& operator=(const Accumulator& o) {
    if (this != &o) {
      release();
      copy_from(o);
    }
    return *this;
  }
  Accumulator& operator=(Accumulator&& o) noexcept {
    if (this != &o) {
      release();
      bits_ = o.bits_;
      word1_ = o.word1_;
      word2_ = o.word2_;
      o.bits_ = 0;
    }
    return *this;
  }
  ~Accumulator() { release(); }

  // Events (count) or non-null values (the other functions).
  uint64_t count() const { return bits_ & kCountMask; }
  bool empty() const { return count() == 0; }
  // first/last/count_distinct state; null until they take a value.
  Extra* extra() const { return (bits_ & kHasExtra) ? word2_.extra : nullptr; }

  // Adds one event's value (`v` null when the event lacks the property, or for a plain
  // count). `seq` is the event's arrival number (ties of first/last). `exact_limit`: the
  // distinct values count_distinct keeps exactly before it switches to a sketch.
  void add(AggregateFn fn, const Value* v, int64_t time, uint64_t seq, size_t exact_limit = 0) {
    // Inline: count, and sums of doubles; the rest out of line.
    if (fn == AggregateFn::kCount) {
      if (v == nullptr || !v->is_null()) ++bits_;
      return;
    }
    if (v != nullptr && v->type() == ValueType::kDouble &&
        (fn == AggregateFn::kSum || fn == AggregateFn::kAvg)) {
      word2_.sum += v->as_double();
      bits_ = (bits_ | kAnyDouble) + 1;
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
  static constexpr uint64_t kAnyDouble = uint64_t{1} << 63;  // sum/avg: a non-integer was added
  static constexpr uint64_t kIsInt = uint64_t{1} << 62;      // min/max: the value is an integer
  static constexpr uint64_t kHasExtra = uint64_t{1} << 61;   // word2_ owns an Extra
  static constexpr uint64_t kCountMask = kHasExtra - 1;

  Extra& x() {
    if (!(bits_ & kHasExtra)) {
      word2_.extra = new Extra;
      bits_ |= kHasExtra;
    }
    return *word2_.extra;
  }
  void release() {
    if (bits_ & kHasExtra) delete word2_.extra;
  }
  void copy_from(const Accumulator& o) {
    bits_ = o.bits_;
    word1_ = o.word1_;
    if (o.bits_ & kHasExtra)
      word2_.extra = new Extra(*o.word2_.extra);
    else
      word2_ = o.word2_;
  }
  double value() const { return std::bit_cast<double>(word1_); }
  void set_value(double d, bool is_int) {
    word1_ = std::bit_cast<int64_t>(d);
    bits_ = is_int ? bits_ | kIsInt : bits_ & ~kIsInt;
  }
  void add_other(AggregateFn fn, const Value* v, int64_t time, uint64_t seq, size_t exact_limit);

  uint64_t bits_ = 0;  // count | flags
  int64_t word1_ = 0;  // sum/avg: the sum of integer values; min/max: the value's double bits
  union Word2 {
    double sum;  // sum/avg: the sum of the other numeric values
    Extra* extra;
  } word2_{0.0};
};

}  // namespace segflow

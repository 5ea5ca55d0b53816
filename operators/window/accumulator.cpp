#include "operators/window/accumulator.h"

namespace segflow {

StoredValue StoredValue::of(const Value& v) {
  StoredValue s;
  s.type = v.type();
  switch (v.type()) {
    case ValueType::kBool:
    case ValueType::kInt:
      s.i = v.as_int();
      break;
    case ValueType::kDouble:
      s.d = v.as_double();
      break;
    case ValueType::kString:
      s.s = std::string(v.as_string());
      break;
    case ValueType::kNull:
      break;
  }
  return s;
}

Value StoredValue::view() const {
  switch (type) {
    case ValueType::kBool:
      return Value::boolean(i != 0);
    case ValueType::kInt:
      return Value::integer(i);
    case ValueType::kDouble:
      return Value::real(d);
    case ValueType::kString:
      return Value::string(s);
    case ValueType::kNull:
      break;
  }
  return Value::null();
}

void StoredValue::write(StateWriter& w) const {
  write_state(w, type);
  write_state(w, i);
  write_state(w, d);
  w.str(s);
}

StoredValue StoredValue::read(StateReader& r) {
  StoredValue v;
  v.type = read_state<ValueType>(r);
  v.i = read_state<int64_t>(r);
  v.d = read_state<double>(r);
  v.s = r.str();
  return v;
}

void Accumulator::add_other(AggregateFn fn, const Value* v, int64_t time, uint64_t seq,
                            size_t exact_limit) {
  if (v == nullptr || v->is_null()) return;
  switch (fn) {
    case AggregateFn::kCountDistinct:
      x().distinct.add(*v, exact_limit);
      ++bits_;
      return;
    case AggregateFn::kFirst:
      if (empty() || time < x().first_time || (time == x().first_time && seq < x().first_seq)) {
        x().first_time = time;
        x().first_seq = seq;
        x().first = StoredValue::of(*v);
      }
      ++bits_;
      return;
    case AggregateFn::kLast:
      if (empty() || time > x().last_time || (time == x().last_time && seq > x().last_seq)) {
        x().last_time = time;
        x().last_seq = seq;
        x().last = StoredValue::of(*v);
      }
      ++bits_;
      return;
    default:
      break;
  }
  const auto n = v->number();
  if (!n) return;  // strings and nulls are ignored, as SQL ignores NULL
  const bool is_int = v->type() == ValueType::kInt || v->type() == ValueType::kBool;
  switch (fn) {
    case AggregateFn::kSum:
    case AggregateFn::kAvg:
      if (is_int) {
        word1_ += v->as_int();
      } else {
        word2_.sum += *n;
        bits_ |= kAnyDouble;
      }
      break;
    case AggregateFn::kMin:
      if (empty() || *n < value()) set_value(*n, is_int);
      break;
    case AggregateFn::kMax:
      if (empty() || *n > value()) set_value(*n, is_int);
      break;
    default:  // count: counted before
      break;
  }
  ++bits_;
}

void Accumulator::merge(AggregateFn fn, const Accumulator& o, size_t exact_limit) {
  if (o.empty()) return;
  if (empty()) {
    *this = o;
    return;
  }
  const Extra* ox = o.extra();
  // A decoded partial may lack the state its function needs: nothing to merge from it.
  const bool needs_extra =
      fn == AggregateFn::kCountDistinct || fn == AggregateFn::kFirst || fn == AggregateFn::kLast;
  if (needs_extra && ox == nullptr) return;
  switch (fn) {
    case AggregateFn::kCount:
      break;
    case AggregateFn::kCountDistinct:
      x().distinct.merge(ox->distinct, exact_limit);
      break;
    case AggregateFn::kFirst:
      if (ox->first_time < x().first_time ||
          (ox->first_time == x().first_time && ox->first_seq < x().first_seq)) {
        x().first_time = ox->first_time;
        x().first_seq = ox->first_seq;
        x().first = ox->first;
      }
      break;
    case AggregateFn::kLast:
      if (ox->last_time > x().last_time ||
          (ox->last_time == x().last_time && ox->last_seq > x().last_seq)) {
        x().last_time = ox->last_time;
        x().last_seq = ox->last_seq;
        x().last = ox->last;
      }
      break;
    case AggregateFn::kSum:
    case AggregateFn::kAvg:
      word1_ += o.word1_;
      word2_.sum += o.word2_.sum;
      bits_ |= o.bits_ & kAnyDouble;
      break;
    case AggregateFn::kMin:
      if (o.value() < value()) set_value(o.value(), (o.bits_ & kIsInt) != 0);
      break;
    case AggregateFn::kMax:
      if (o.value() > value()) set_value(o.value(), (o.bits_ & kIsInt) != 0);
      break;
  }
  bits_ += o.count();
}

Value Accumulator::result(AggregateFn fn) const {
  if (fn == AggregateFn::kCount) return Value::integer(static_cast<int64_t>(count()));
  if (fn == AggregateFn::kCountDistinct)
    return Value::integer(static_cast<int64_t>(extra() ? extra()->distinct.estimate() : 0));
  if (empty()) return Value::null();
  const bool any_double = (bits_ & kAnyDouble) != 0;
  switch (fn) {
    case AggregateFn::kSum:
      return any_double ? Value::real(static_cast<double>(word1_) + word2_.sum)
                        : Value::integer(word1_);
    case AggregateFn::kMin:
    case AggregateFn::kMax:
      return (bits_ & kIsInt) ? Value::integer(static_cast<int64_t>(value()))
                              : Value::real(value());
    case AggregateFn::kAvg:
      return Value::real((static_cast<double>(word1_) + word2_.sum) / static_cast<double>(count()));
    case AggregateFn::kFirst:
      return extra() ? extra()->first.view() : Value::null();
    case AggregateFn::kLast:
      return extra() ? extra()->last.view() : Value::null();
    default:
      return Value::null();
  }
}

void Accumulator::write(StateWriter& w) const {
  write_state(w, bits_);
  write_state(w, word1_);
  const Extra* e = extra();
  if (e == nullptr) {
    write_state(w, word2_.sum);
    return;
  }
  write_state(w, e->first_time);
  write_state(w, e->last_time);
  write_state(w, e->first_seq);
  write_state(w, e->last_seq);
  e->first.write(w);
  e->last.write(w);
  e->distinct.write(w);
}

Accumulator Accumulator::read(StateReader& r) {
  Accumulator a;
  const auto bits = read_state<uint64_t>(r);
  a.bits_ = bits & ~kHasExtra;
  a.word1_ = read_state<int64_t>(r);
  if (!(bits & kHasExtra)) {
    a.word2_.sum = read_state<double>(r);
    return a;
  }
  Extra& x = a.x();
  x.first_time = read_state<int64_t>(r);
  x.last_time = read_state<int64_t>(r);
  x.first_seq = read_state<uint64_t>(r);
  x.last_seq = read_state<uint64_t>(r);
  x.first = StoredValue::read(r);
  x.last = StoredValue::read(r);
  x.distinct = DistinctCounter::read(r);
  return a;
}

}  // namespace segflow

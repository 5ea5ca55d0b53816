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

Accumulator& Accumulator::operator=(const Accumulator& o) {
  if (this == &o) return *this;
  count = o.count;
  int_sum = o.int_sum;
  double_sum = o.double_sum;
  any_double = o.any_double;
  min = o.min;
  max = o.max;
  min_is_int = o.min_is_int;
  max_is_int = o.max_is_int;
  extra = o.extra ? std::make_unique<Extra>(*o.extra) : nullptr;
  return *this;
}

void Accumulator::add_other(AggregateFn fn, const Value* v, int64_t time, uint64_t seq,
                            size_t exact_limit) {
  if (v == nullptr || v->is_null()) return;
  if (fn == AggregateFn::kCountDistinct) {
    ++count;
    x().distinct.add(*v, exact_limit);
    return;
  }
  if (fn == AggregateFn::kFirst || fn == AggregateFn::kLast) {
    const bool was_empty = count++ == 0;
    if (fn == AggregateFn::kFirst &&
        (was_empty || time < x().first_time || (time == x().first_time && seq < x().first_seq))) {
      x().first_time = time;
      x().first_seq = seq;
      x().first = StoredValue::of(*v);
    }
    if (fn == AggregateFn::kLast &&
        (was_empty || time > x().last_time || (time == x().last_time && seq > x().last_seq))) {
      x().last_time = time;
      x().last_seq = seq;
      x().last = StoredValue::of(*v);
    }
    return;
  }
  const auto n = v->number();
  if (!n) return;  // strings and nulls are ignored, as SQL ignores NULL
  const bool is_int = v->type() == ValueType::kInt || v->type() == ValueType::kBool;
  if (is_int) {
    int_sum += v->as_int();
  } else {
    double_sum += *n;
    any_double = true;
  }
  if (count == 0 || *n < min) {
    min = *n;
    min_is_int = is_int;
  }
  if (count == 0 || *n > max) {
    max = *n;
    max_is_int = is_int;
  }
  ++count;
}

void Accumulator::merge(AggregateFn fn, const Accumulator& o, size_t exact_limit) {
  if (o.count == 0) return;
  if (count == 0) {
    *this = o;
    return;
  }
  switch (fn) {
    case AggregateFn::kCount:
      break;
    case AggregateFn::kCountDistinct:
      x().distinct.merge(o.extra->distinct, exact_limit);
      break;
    case AggregateFn::kFirst:
      if (o.extra->first_time < x().first_time ||
          (o.extra->first_time == x().first_time && o.extra->first_seq < x().first_seq)) {
        x().first_time = o.extra->first_time;
        x().first_seq = o.extra->first_seq;
        x().first = o.extra->first;
      }
      break;
    case AggregateFn::kLast:
      if (o.extra->last_time > x().last_time ||
          (o.extra->last_time == x().last_time && o.extra->last_seq > x().last_seq)) {
        x().last_time = o.extra->last_time;
        x().last_seq = o.extra->last_seq;
        x().last = o.extra->last;
      }
      break;
    default:
      int_sum += o.int_sum;
      double_sum += o.double_sum;
      any_double = any_double || o.any_double;
      if (o.min < min) {
        min = o.min;
        min_is_int = o.min_is_int;
      }
      if (o.max > max) {
        max = o.max;
        max_is_int = o.max_is_int;
      }
  }
  count += o.count;
}

Value Accumulator::result(AggregateFn fn) const {
  if (fn == AggregateFn::kCount) return Value::integer(static_cast<int64_t>(count));
  if (fn == AggregateFn::kCountDistinct)
    return Value::integer(static_cast<int64_t>(extra ? extra->distinct.estimate() : 0));
  if (count == 0) return Value::null();
  switch (fn) {
    case AggregateFn::kSum:
      return any_double ? Value::real(static_cast<double>(int_sum) + double_sum)
                        : Value::integer(int_sum);
    case AggregateFn::kMin:
      return min_is_int ? Value::integer(static_cast<int64_t>(min)) : Value::real(min);
    case AggregateFn::kMax:
      return max_is_int ? Value::integer(static_cast<int64_t>(max)) : Value::real(max);
    case AggregateFn::kAvg:
      return Value::real((static_cast<double>(int_sum) + double_sum) / static_cast<double>(count));
    case AggregateFn::kFirst:
      return extra->first.view();
    case AggregateFn::kLast:
      return extra->last.view();
    default:
      return Value::null();
  }
}

void Accumulator::write(StateWriter& w) const {
  write_state(w, count);
  write_state(w, int_sum);
  write_state(w, double_sum);
  write_state(w, any_double);
  write_state(w, min);
  write_state(w, max);
  write_state(w, min_is_int);
  write_state(w, max_is_int);
  write_state(w, extra != nullptr);
  if (!extra) return;
  write_state(w, extra->first_time);
  write_state(w, extra->last_time);
  write_state(w, extra->first_seq);
  write_state(w, extra->last_seq);
  extra->first.write(w);
  extra->last.write(w);
  extra->distinct.write(w);
}

Accumulator Accumulator::read(StateReader& r) {
  Accumulator a;
  a.count = read_state<uint64_t>(r);
  a.int_sum = read_state<int64_t>(r);
  a.double_sum = read_state<double>(r);
  a.any_double = read_state<bool>(r);
  a.min = read_state<double>(r);
  a.max = read_state<double>(r);
  a.min_is_int = read_state<bool>(r);
  a.max_is_int = read_state<bool>(r);
  if (!read_state<bool>(r)) return a;
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

#include "operators/expression/expression.h"

#include <algorithm>
#include <cmath>

namespace segflow {

namespace {

using Result = Expression::Result;
using ResultKind = Result::Kind;

Result make_missing() { return {}; }
Result make_bool(bool b) {
  Result r;
  r.kind = ResultKind::kBool;
  r.boolean = b;
  return r;
}
Result make_number(double d) {
  Result r;
  r.kind = ResultKind::kNumber;
  r.number = d;
  return r;
}

Result from_value(const Value* v) {
  if (v == nullptr) return make_missing();
  Result r;
  switch (v->type()) {
    case ValueType::kBool:
      return make_bool(v->as_bool());
    case ValueType::kInt:
      return make_number(static_cast<double>(v->as_int()));
    case ValueType::kDouble:
      return make_number(v->as_double());
    case ValueType::kString:
      r.kind = ResultKind::kString;
      r.string = v->as_string();
      return r;
    default:
      return make_missing();
  }
}

template <class T>
bool ordered(Expression::Op op, const T& a, const T& b) {
  switch (op) {
    case Expression::Op::kLt:
      return a < b;
    case Expression::Op::kLe:
      return a <= b;
    case Expression::Op::kGt:
      return a > b;
    default:
      return a >= b;
  }
}

bool equal(const Result& a, const Result& b) {
  switch (a.kind) {
    case ResultKind::kBool:
      return a.boolean == b.boolean;
    case ResultKind::kNumber:
      return a.number == b.number;
    default:
      return a.string == b.string;
  }
}

}  // namespace

Result Expression::eval(uint32_t index, const PropertySource& properties) const {
  const Node& n = nodes_[index];
  switch (n.op) {
    case Op::kBool:
      return make_bool(n.number != 0);
    case Op::kNumber:
      return make_number(n.number);
    case Op::kString: {
      Result r;
      r.kind = ResultKind::kString;
      r.string = strings_[n.index];
      return r;
    }
    case Op::kNull:
      return make_missing();
    case Op::kProperty:
      return from_value(properties.find(n.symbol));
    case Op::kExists: {
      const Value* v = properties.find(n.symbol);
      return make_bool(v != nullptr && !v->is_null());
    }
    case Op::kNeg: {
      const Result a = eval(n.a, properties);
      return a.kind == ResultKind::kNumber ? make_number(-a.number) : make_missing();
    }
    case Op::kAdd:
    case Op::kSub:
    case Op::kMul:
    case Op::kDiv:
    case Op::kMod: {
      const Result a = eval(n.a, properties);
      if (a.kind != ResultKind::kNumber) return make_missing();
      const Result b = eval(n.b, properties);
      if (b.kind != ResultKind::kNumber) return make_missing();
      double v = 0;
      switch (n.op) {
        case Op::kAdd:
          v = a.number + b.number;
          break;
        case Op::kSub:
          v = a.number - b.number;
          break;
        case Op::kMul:
          v = a.number * b.number;
          break;
        case Op::kDiv:
          if (b.number == 0) return make_missing();
          v = a.number / b.number;
          break;
        default:
          if (b.number == 0) return make_missing();
          v = std::fmod(a.number, b.number);
      }
      return std::isfinite(v) ? make_number(v) : make_missing();
    }
    case Op::kEq:
    case Op::kNe: {
      const Result a = eval(n.a, properties);
      if (a.kind == ResultKind::kMissing) return make_bool(false);
      const Result b = eval(n.b, properties);
      if (b.kind == ResultKind::kMissing) return make_bool(false);
      const bool eq = a.kind == b.kind && equal(a, b);
      return make_bool(n.op == Op::kEq ? eq : !eq);
    }
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: {
      const Result a = eval(n.a, properties);
      const Result b = eval(n.b, properties);
      if (a.kind != b.kind) return make_bool(false);
      if (a.kind == ResultKind::kNumber) return make_bool(ordered(n.op, a.number, b.number));
      if (a.kind == ResultKind::kString) return make_bool(ordered(n.op, a.string, b.string));
      return make_bool(false);
    }
    case Op::kIn:
    case Op::kNotIn: {
      const Result a = eval(n.a, properties);
      bool found;
      if (a.kind == ResultKind::kNumber) {
        const auto& set = number_sets_[n.index];
        found = std::binary_search(set.begin(), set.end(), a.number);
      } else if (a.kind == ResultKind::kString) {
        const auto& set = string_sets_[n.index];
        found = std::binary_search(set.begin(), set.end(), a.string,
                                   [](std::string_view x, std::string_view y) { return x < y; });
      } else {
        return make_bool(false);
      }
      return make_bool(n.op == Op::kIn ? found : !found);
    }
    case Op::kStartsWith:
    case Op::kEndsWith:
    case Op::kContains: {
      const Result a = eval(n.a, properties);
      const Result b = eval(n.b, properties);
      if (a.kind != ResultKind::kString || b.kind != ResultKind::kString) return make_bool(false);
      if (n.op == Op::kStartsWith) return make_bool(a.string.starts_with(b.string));
      if (n.op == Op::kEndsWith) return make_bool(a.string.ends_with(b.string));
      return make_bool(a.string.find(b.string) != std::string_view::npos);
    }
    case Op::kAnd: {
      const Result a = eval(n.a, properties);
      if (!(a.kind == ResultKind::kBool && a.boolean)) return make_bool(false);
      const Result b = eval(n.b, properties);
      return make_bool(b.kind == ResultKind::kBool && b.boolean);
    }
    case Op::kOr: {
      const Result a = eval(n.a, properties);
      if (a.kind == ResultKind::kBool && a.boolean) return make_bool(true);
      const Result b = eval(n.b, properties);
      return make_bool(b.kind == ResultKind::kBool && b.boolean);
    }
    case Op::kNot: {
      const Result a = eval(n.a, properties);
      return make_bool(!(a.kind == ResultKind::kBool && a.boolean));
    }
  }
  return make_missing();
}

bool Expression::test(const PropertySource& properties) const {
  if (nodes_.empty()) return false;
  const Result r = eval(root_, properties);
  return r.kind == ResultKind::kBool && r.boolean;
}

bool Expression::number(const PropertySource& properties, double& out) const {
  if (nodes_.empty()) return false;
  const Result r = eval(root_, properties);
  if (r.kind != ResultKind::kNumber) return false;
  out = r.number;
  return true;
}

}  // namespace segflow

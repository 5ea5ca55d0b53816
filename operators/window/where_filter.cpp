#include "operators/window/where_filter.h"

#include <algorithm>
#include <charconv>
#include <map>

namespace segflow {

namespace {

template <class T>
bool compare(WhereFilter::Op op, const T& a, const T& b) {
  switch (op) {
    case WhereFilter::Op::kEq:
      return a == b;
    case WhereFilter::Op::kNe:
      return a != b;
    case WhereFilter::Op::kLt:
      return a < b;
    case WhereFilter::Op::kLe:
      return a <= b;
    case WhereFilter::Op::kGt:
      return a > b;
    case WhereFilter::Op::kGe:
      return a >= b;
    default:
      return true;
  }
}

}  // namespace

WhereFilter WhereFilter::parse(const ConfigNode& node) {
  node.expect_map();
  WhereFilter f;
  if (node.has("events")) {
    for (const std::string& name : node.strings("events")) f.events_.push_back(intern(name));
    if (f.events_.empty()) node.fail_at("events", "'events' must name at least one event");
  }
  const bool has_value = node.has("value");
  if (node.has("property")) {
    const std::string property = node.string("property");
    if (property.empty()) node.fail_at("property", "'property' must not be empty");
    f.property_ = intern(property);
    static const std::map<std::string, Op> ops = {
        {"exists", Op::kExists}, {"eq", Op::kEq}, {"ne", Op::kNe}, {"lt", Op::kLt},
        {"le", Op::kLe},         {"gt", Op::kGt}, {"ge", Op::kGe}};
    const std::string op = node.string("op", has_value ? "eq" : "exists");
    const auto it = ops.find(op);
    if (it == ops.end())
      node.fail_at("op", "unknown op '" + op + "' (expected exists, eq, ne, lt, le, gt or ge)");
    f.op_ = it->second;
    if (f.op_ != Op::kExists) {
      if (!has_value) node.fail("op '" + op + "' needs a 'value'");
      const std::string text = node.string("value");
      const char* end = text.data() + text.size();
      const auto [p, ec] = std::from_chars(text.data(), end, f.number_);
      // A value that reads fully as a number compares as a number, else as a string.
      f.value_is_number_ = ec == std::errc() && p == end && !text.empty();
      f.string_ = text;
    } else if (has_value) {
      node.fail_at("value", "op 'exists' takes no 'value'");
    }
  } else if (node.has("op") || has_value) {
    node.fail("'op' and 'value' need a 'property'");
  }
  if (f.events_.empty() && f.property_ == kNoSymbol)
    node.fail("'where' needs 'events' or 'property'");
  node.finish();
  return f;
}

bool WhereFilter::passes(const Batch& in, const Record& r) const {
  if (!events_.empty() && std::find(events_.begin(), events_.end(), r.event) == events_.end())
    return false;
  if (op_ == Op::kNone) return true;
  const Value* v = in.find(r, property_);
  if (v == nullptr || v->is_null()) return false;
  if (op_ == Op::kExists) return true;
  if (v->is_string()) {
    if (value_is_number_) return op_ == Op::kNe;
    return compare(op_, v->as_string(), std::string_view(string_));
  }
  const auto n = v->number();
  if (!value_is_number_) return op_ == Op::kNe;
  return compare(op_, *n, number_);
}

}  // namespace segflow

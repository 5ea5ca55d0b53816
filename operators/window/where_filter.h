// WhereFilter: the optional `where` of one aggregate: which events it takes, by event name
// and by one comparison on a property. Parsed from YAML; evaluated per event.
// Thread safety: immutable after parse; shared read-only by all subtasks.
#pragma once

#include <string>
#include <vector>

#include "engine/batch.h"
#include "engine/config_node.h"

namespace segflow {

class WhereFilter {
 public:
  enum class Op : uint8_t { kNone, kExists, kEq, kNe, kLt, kLe, kGt, kGe };

  // `where: {events?: [names], property?: name, op?: exists|eq|ne|lt|le|gt|ge, value?}`.
  // `op` defaults to eq when `value` is given, else exists.
  static WhereFilter parse(const ConfigNode& node);

  bool always() const { return events_.empty() && op_ == Op::kNone; }
  // True when record `r` of `in` passes. A missing or null property passes nothing (also
  // not `ne`); numbers compare numerically, strings by bytes, a number and a string are
  // only `ne`.
  bool passes(const Batch& in, const Record& r) const;

 private:
  std::vector<SymbolId> events_;
  SymbolId property_ = kNoSymbol;
  Op op_ = Op::kNone;
  bool value_is_number_ = false;
  double number_ = 0;
  std::string string_;
};

}  // namespace segflow

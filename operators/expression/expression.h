// Expression: a compiled `where` expression over an event's (or a profile's) properties, e.g.
//   properties.category == 'electronics' and properties.price * properties.quantity > 100
//   context.device.type in ['mobile', 'tablet'] or not (traits.email ends_with '@corp.com')
// Parsed and type-checked once (Expression::parse), compiled to a flat tree of typed nodes
// whose property names are interned symbol ids; evaluation walks that tree with no text
// interpretation. Grammar, loosest binding first:
//   or:  and ('or' and)*           and: not ('and' not)*        not: 'not' not | cmp
//   cmp: sum [('=='|'!='|'<'|'<='|'>'|'>=') sum | ['not'] 'in' '[' literal, ... ']'
//             | ('starts_with'|'ends_with'|'contains') sum]
//   sum: product (('+'|'-') product)*        product: unary (('*'|'/'|'%') unary)*
//   unary: '-' unary | primary
//   primary: number | 'string' | "string" | true | false | null | exists '(' name ')'
//            | name (dotted: properties.price, context.device.type; `back ticks` for any
//              other name) | '(' or ')'
// Semantics: numbers are doubles (ints and bools of the event convert); a missing or null
// property makes arithmetic missing and every comparison false (also `!=`; `not` of it is
// true); a number and a string are never equal (`!=` is true); `x / 0` is missing;
// `and`/`or`/`not` and the whole expression take `true` as true and anything else as false.
// Thread safety: immutable after parse; evaluate from any thread.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/batch.h"
#include "engine/config_node.h"

namespace segflow {

// A parse or type error at character `offset` (0-based) of the expression text.
class ExpressionError : public std::runtime_error {
 public:
  ExpressionError(size_t offset, const std::string& message)
      : std::runtime_error(message), offset_(offset) {}
  size_t offset() const { return offset_; }

 private:
  size_t offset_;
};

// Where an expression reads property values from. find() returns nullptr when absent.
class PropertySource {
 public:
  virtual const Value* find(SymbolId name) const = 0;

 protected:
  ~PropertySource() = default;
};

// The properties of record `r` of batch `b`.
class RecordProperties final : public PropertySource {
 public:
  RecordProperties(const Batch& b, const Record& r) : batch_(b), record_(r) {}
  const Value* find(SymbolId name) const override { return batch_.find(record_, name); }

 private:
  const Batch& batch_;
  const Record& record_;
};

class Expression {
 public:
  // What the whole expression must be: a condition (test) or a number (number).
  enum class Kind : uint8_t { kCondition, kNumber };
  // Throws ExpressionError. Interns every property name it reads.
  static Expression parse(std::string_view text, Kind kind = Kind::kCondition);
  // Reads string `key` of `node` and parses it; errors name file:line:col of the key and the
  // column inside the expression.
  static Expression parse(const ConfigNode& node, const std::string& key,
                          Kind kind = Kind::kCondition);

  // True when the expression evaluates to boolean true.
  bool test(const PropertySource& properties) const;
  bool test(const Batch& b, const Record& r) const { return test(RecordProperties(b, r)); }
  // The numeric value (false when it is not a number).
  bool number(const PropertySource& properties, double& out) const;

  // The distinct property names the expression reads.
  const std::vector<SymbolId>& reads() const { return reads_; }
  const std::string& text() const { return text_; }

  // One node of the compiled tree; its operands are earlier nodes (a, b).
  enum class Op : uint8_t {
    kBool,
    kNumber,
    kString,
    kNull,
    kProperty,
    kExists,  // leaves
    kNeg,
    kAdd,
    kSub,
    kMul,
    kDiv,
    kMod,  // numeric
    kEq,
    kNe,
    kLt,
    kLe,
    kGt,
    kGe,  // comparisons
    kIn,
    kNotIn,
    kStartsWith,
    kEndsWith,
    kContains,  // membership and strings
    kAnd,
    kOr,
    kNot,  // logic
  };
  struct Node {
    Op op = Op::kNull;
    uint32_t a = 0, b = 0;        // operand nodes
    uint32_t index = 0;           // kString: strings_; kIn/kNotIn: number_sets_ and string_sets_
    SymbolId symbol = kNoSymbol;  // kProperty, kExists
    double number = 0;            // kNumber; kBool: 0 or 1
  };
  // The value of a node during evaluation.
  struct Result {
    enum class Kind : uint8_t { kMissing, kBool, kNumber, kString } kind = Kind::kMissing;
    bool boolean = false;
    double number = 0;
    std::string_view string;
  };

 private:
  Result eval(uint32_t node, const PropertySource& properties) const;

  std::vector<Node> nodes_;  // children before parents
  uint32_t root_ = 0;
  std::vector<std::string> strings_;
  std::vector<std::vector<double>> number_sets_;       // sorted
  std::vector<std::vector<std::string>> string_sets_;  // sorted
  std::vector<SymbolId> reads_;
  std::string text_;
  friend class ExpressionParser;
};

}  // namespace segflow

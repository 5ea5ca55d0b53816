// Value: one typed property value (null, bool, int, double or string) in 16 bytes.
// A string Value is a view: its bytes live in the arena of the Batch that holds the record.
// Thread safety: a plain value type.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace segflow {

enum class ValueType : uint8_t { kNull, kBool, kInt, kDouble, kString };

class Value {
 public:
  constexpr Value() : type_(ValueType::kNull), int_(0) {}
  static constexpr Value null() { return Value(); }
  static constexpr Value boolean(bool b) {
    Value v;
    v.type_ = ValueType::kBool;
    v.int_ = b ? 1 : 0;
    return v;
  }
  static constexpr Value integer(int64_t i) {
    Value v;
    v.type_ = ValueType::kInt;
    v.int_ = i;
    return v;
  }
  static constexpr Value real(double d) {
    Value v;
    v.type_ = ValueType::kDouble;
    v.double_ = d;
    return v;
  }
  // REQUIRES: `s` outlives the Value (normally: it lives in a batch arena).
  static Value string(std::string_view s) {
    Value v;
    v.type_ = ValueType::kString;
    v.size_ = static_cast<uint32_t>(s.size());
    v.chars_ = s.data();
    return v;
  }

  ValueType type() const { return type_; }
  bool is_null() const { return type_ == ValueType::kNull; }
  bool is_string() const { return type_ == ValueType::kString; }
  bool is_number() const { return type_ == ValueType::kInt || type_ == ValueType::kDouble; }

  bool as_bool() const { return int_ != 0; }
  int64_t as_int() const { return int_; }
  double as_double() const { return double_; }
  std::string_view as_string() const { return {chars_, size_}; }

  // Numeric view of an int, double or bool; nullopt for null and strings.
  std::optional<double> number() const {
    switch (type_) {
      case ValueType::kInt:
      case ValueType::kBool:
        return static_cast<double>(int_);
      case ValueType::kDouble:
        return double_;
      default:
        return std::nullopt;
    }
  }

  friend bool operator==(const Value& a, const Value& b) {
    if (a.type_ != b.type_) return false;
    switch (a.type_) {
      case ValueType::kNull:
        return true;
      case ValueType::kDouble:
        return a.double_ == b.double_;
      case ValueType::kString:
        return a.as_string() == b.as_string();
      default:
        return a.int_ == b.int_;
    }
  }

 private:
  ValueType type_;
  uint32_t size_ = 0;
  union {
    int64_t int_;
    double double_;
    const char* chars_;
  };
};

static_assert(sizeof(Value) == 16);

}  // namespace segflow

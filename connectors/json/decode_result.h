// DecodeResult: the outcome of turning one line of input into a Record: success, or the
// dead-letter reason. Reasons are short static strings, stable across releases, because
// they are metric labels (segflow_dead_letters_total{reason=...}). A plain value type.
#pragma once

#include <string_view>

namespace segflow {

struct [[nodiscard]] DecodeResult {
  const char* reason = nullptr;  // nullptr on success; otherwise a string literal

  static constexpr DecodeResult ok() { return {}; }
  static constexpr DecodeResult fail(const char* why) { return {why}; }
  bool is_ok() const { return reason == nullptr; }
  std::string_view why() const { return reason == nullptr ? std::string_view() : reason; }
};

}  // namespace segflow

// TimeFormat: how a CSV column spells its event time: "iso8601" (the default; also accepts
// "YYYY-MM-DD HH:MM:SS" and a trailing " UTC"), "epoch_s", "epoch_ms", or a strptime-like
// pattern such as "%Y-%m-%d %H:%M:%S". Times without a zone are UTC. Immutable after
// construction; parse_time() may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace segflow {

class TimeFormat {
 public:
  // Pattern directives: %Y (4-digit year), %m, %d, %H, %M, %S (1 or 2 digits), %f (fraction
  // of a second, 1-9 digits), %z (Z, +hh:mm, +hhmm, UTC, GMT), %b (Jan..Dec), %F (%Y-%m-%d),
  // %T (%H:%M:%S), %% (a percent sign). Any other character must match itself. Text after
  // the pattern may only be a zone: " UTC", "Z", "+01:00"...
  // Returns nullopt and sets `error` for an unknown directive or an empty pattern.
  static std::optional<TimeFormat> make(const std::string& spec, std::string& error);
  TimeFormat() = default;  // iso8601

  // Epoch milliseconds of `text`; false when it does not match or is out of range.
  bool parse_time(std::string_view text, int64_t& epoch_ms) const;
  const std::string& spec() const { return spec_; }

 private:
  enum class Kind { kIso8601, kEpochSeconds, kEpochMillis, kPattern };
  bool parse_pattern(std::string_view text, int64_t& epoch_ms) const;

  Kind kind_ = Kind::kIso8601;
  std::string spec_ = "iso8601";
};

}  // namespace segflow

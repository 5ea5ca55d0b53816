// Parsing of ISO-8601 / RFC 3339 timestamps ("2024-05-01T12:00:00.250Z",
// "2024-05-01 12:00:00+02:00", "2024-05-01T12:00:00 UTC") into epoch milliseconds, plus the
// range every segflow event time must fall in. Pure functions.
#pragma once

#include <cstdint>
#include <string_view>

namespace segflow {

// Event times are kept within years 0000..9999, so that no event collides with the
// watermark sentinels kMinTime / kMaxTime and epoch-second arithmetic cannot overflow.
inline constexpr int64_t kEarliestEventTime = -62'167'219'200'000;  // 0000-01-01T00:00:00Z
inline constexpr int64_t kLatestEventTime = 253'402'300'799'999;    // 9999-12-31T23:59:59.999Z

inline bool is_valid_event_time(int64_t ms) {
  return ms >= kEarliestEventTime && ms <= kLatestEventTime;
}

// Accepts YYYY-MM-DD, then 'T', 't' or ' ', then HH:MM[:SS[.fraction]], then an optional zone:
// 'Z', '+hh:mm', '-hh:mm', '+hhmm', '+hh', " UTC", " GMT" (no zone means UTC). Fractions
// beyond milliseconds are truncated. Returns false, leaving `epoch_ms` unchanged, otherwise.
bool parse_iso8601(std::string_view text, int64_t& epoch_ms);

// Milliseconds since the epoch of a UTC civil time. REQUIRES: fields already range-checked
// (month 1..12, day valid for the month, hour < 24, minute < 60, second < 60).
int64_t civil_to_epoch_ms(int year, unsigned month, unsigned day, int hour, int minute, int second,
                          int millisecond);

// Parses a whole zone suffix into its offset from UTC: "" (UTC), "Z", "z", "UTC", "GMT",
// "+hh:mm", "-hhmm", "+hh", each optionally after one space. False for anything else.
bool parse_zone_suffix(std::string_view text, int64_t& offset_ms);

// True when year/month/day name a real calendar day (year 0..9999).
bool is_valid_date(int year, unsigned month, unsigned day);

}  // namespace segflow

// Parsing ISO-8601 timestamps ("2024-01-01T00:00:00Z", "2024-01-01T09:30:00.250+02:00",
// "2024-01-01") into milliseconds since the Unix epoch. The inverse of append_iso8601 in
// engine/json_text.h. Pure function.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace segflow::generator {

// Accepts YYYY-MM-DD, optionally followed by 'T' or ' ' and HH:MM[:SS[.fraction]], then
// optionally 'Z' or a ±HH:MM / ±HHMM offset (none means UTC). Digits of the fraction past
// milliseconds are truncated. nullopt when malformed or out of range.
std::optional<int64_t> parse_iso8601_ms(std::string_view text);

}  // namespace segflow::generator

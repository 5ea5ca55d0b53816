// Helpers for writing JSON text by hand on hot paths (sinks, dead-letter output).
// Pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace segflow {

// Appends `s` as a quoted JSON string; invalid UTF-8 bytes become U+FFFD.
void append_json_string(std::string& out, std::string_view s);
// Appends an ISO-8601 UTC timestamp with milliseconds, e.g. 2024-05-01T12:00:00.250Z.
void append_iso8601(std::string& out, int64_t epoch_ms);

}  // namespace segflow

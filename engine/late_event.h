// Sending an event that arrived behind the watermark to the dead-letter output, in the one
// format every event-time operator uses: reason "late event", payload
// {"profile","event","event_time","watermark"}. Thread safety: as DeadLetterOutput::send.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/dead_letter.h"
#include "engine/record.h"

namespace segflow {

inline constexpr std::string_view kLateEventReason = "late event";

// No-op when `dead_letters` is null.
void send_late_event(DeadLetterOutput* dead_letters, std::string_view origin, const Record& r,
                     int64_t watermark);

}  // namespace segflow

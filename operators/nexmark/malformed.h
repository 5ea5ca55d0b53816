// Sending a record that lacks the properties a Nexmark operator needs to the dead-letter
// output: payload {"profile","event"}. Thread safety: as DeadLetterOutput::send.
#pragma once

#include <string_view>

#include "engine/dead_letter.h"
#include "engine/record.h"

namespace segflow {

// No-op when `dead_letters` is null.
void send_malformed(DeadLetterOutput* dead_letters, std::string_view origin, const Record& r,
                    std::string_view reason);

}  // namespace segflow

// Reading the fields the Nexmark operators need from a record, and sending a record that
// lacks them to the dead-letter output. Thread safety: as DeadLetterOutput::send.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/batch.h"
#include "engine/dead_letter.h"
#include "engine/record.h"

namespace segflow {

// True and `v` set when record `r` of `in` has an integer property `name`.
bool int_property(const Batch& in, const Record& r, SymbolId name, int64_t& v);

// Payload {"profile","event"}; no-op when `dead_letters` is null.
void send_malformed(DeadLetterOutput* dead_letters, std::string_view origin, const Record& r,
                    std::string_view reason);

}  // namespace segflow

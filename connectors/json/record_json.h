// Writes a Record as one line of JSON, the format of segflow's file and stdout sinks:
//   {"type":"track","event":"Product Viewed","profile":"u1","timestamp":"...Z",
//    "properties.price":12.5,...}
// Property names are written as they are stored (flat, dotted). Pure function.
#pragma once

#include <string>

#include "engine/batch.h"

namespace segflow {

void append_record_json(std::string& out, const Batch& batch, const Record& record);

}  // namespace segflow

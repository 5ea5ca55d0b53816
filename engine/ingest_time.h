// Ingest stamps: when an event entered the job, on the steady clock of this process, in
// nanoseconds. A Batch carries the earliest stamp of the events it holds or was made from
// (engine/batch.h); the runtime stamps what a source emits and measures, at each sink, the
// time since the stamp of what the sink receives (segflow_end_to_end_latency_seconds; see
// engine/README.md "End-to-end latency").
#pragma once

#include <chrono>
#include <cstdint>

namespace segflow {

// No ingest cause (records a timer made): larger than every stamp, so min() ignores it.
inline constexpr int64_t kNoIngestTime = INT64_MAX;

inline int64_t ingest_clock_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace segflow

// SegmentDecoder: turns one Segment-spec JSON event (track, identify, page, screen, alias,
// group) into a Record: key from userId (else anonymousId), time from `timestamp`, ids and
// the flattened properties / traits / context as "properties.price", "context.device.type"...
// Bad input is reported as a dead-letter reason, never thrown. Thread safety: none; one
// instance per thread (it reuses one JSON parser and scratch buffers across calls).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "connectors/json/decode_result.h"
#include "engine/batch.h"
#include "engine/output.h"

namespace segflow {

class SegmentDecoder {
 public:
  struct Options {
    std::string timestamp_field = "timestamp";  // ISO-8601 string or epoch-ms number
    size_t max_event_bytes = 32768;             // longer input: "event too large"
    // The call type when the event has no `type` field (e.g. the body of /v1/track).
    std::optional<EventKind> implied_kind;
    // False: an event without a timestamp gets event time 0 for the caller to set (Kafka
    // message timestamps) instead of failing with "missing timestamp".
    bool require_timestamp = true;
  };

  SegmentDecoder();
  explicit SegmentDecoder(Options options);
  ~SegmentDecoder();
  SegmentDecoder(const SegmentDecoder&) = delete;
  SegmentDecoder& operator=(const SegmentDecoder&) = delete;

  // Decodes `json` and appends one record to `out`; on failure appends nothing and returns
  // the reason. Reasons: "event too large", "malformed json", "invalid utf-8",
  // "too deeply nested", "not an object", "missing type", "unknown type",
  // "missing event", "missing userId and anonymousId", "missing timestamp", "bad timestamp",
  // "wrong type: <field>" (type, event, userId, anonymousId, messageId, previousId, groupId,
  // properties, traits, context; name for page and screen).
  DecodeResult decode(std::string_view json, Output& out);
  DecodeResult decode(std::string_view json, Batch& out);

  const Options& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace segflow

// The request bodies of Segment's HTTP Tracking API: which endpoint a path names, and how a
// body splits into events. A single-call endpoint's body is one event; /v1/batch and
// /v1/import carry {"batch": [...], "sentAt", "context", "integrations", "writeKey"}; the
// batch's `context` and `integrations` are merged into each event's (the event's own
// members win, member by member, as Segment does). Each event comes out
// as JSON text with a `timestamp`, filled in as Segment documents when the sender left it
// out: receivedAt - (sentAt - originalTimestamp) when both are given, else receivedAt.
// Thread safety: one SegmentRequestParser per thread (it reuses its JSON parser).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/record.h"

namespace segflow {

enum class IngestEndpoint { kTrack, kIdentify, kPage, kScreen, kGroup, kAlias, kBatch, kImport };

// "/v1/track" -> kTrack, ... (an optional query string is ignored); nullopt otherwise.
std::optional<IngestEndpoint> endpoint_from_target(std::string_view target);
// The call type a single-call endpoint implies; nullopt for /v1/batch and /v1/import.
std::optional<EventKind> implied_kind(IngestEndpoint endpoint);

// One request body, split. `error` (a static string, the 400 reason) is set iff the body
// as a whole is unusable; events the decoder may still reject are left to it.
struct SegmentRequest {
  const char* error = nullptr;
  std::string write_key;            // the body's `writeKey`, "" when absent
  std::vector<std::string> events;  // one JSON text per event
};

class SegmentRequestParser {
 public:
  SegmentRequestParser();
  ~SegmentRequestParser();
  SegmentRequestParser(const SegmentRequestParser&) = delete;
  SegmentRequestParser& operator=(const SegmentRequestParser&) = delete;

  // Splits `body` (already inflated) sent to `endpoint`, received at `received_at_ms`.
  // Errors: "malformed json", "body is not a JSON object", "missing batch",
  // "batch is not an array".
  SegmentRequest parse(IngestEndpoint endpoint, std::string_view body, int64_t received_at_ms);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace segflow

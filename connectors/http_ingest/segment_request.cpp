#include "connectors/http_ingest/segment_request.h"

#include <simdjson.h>

#include <array>
#include <utility>

#include "connectors/json/iso8601.h"

namespace segflow {

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

constexpr std::array<std::pair<std::string_view, IngestEndpoint>, 8> kEndpoints = {{
    {"/v1/track", IngestEndpoint::kTrack},
    {"/v1/identify", IngestEndpoint::kIdentify},
    {"/v1/page", IngestEndpoint::kPage},
    {"/v1/screen", IngestEndpoint::kScreen},
    {"/v1/group", IngestEndpoint::kGroup},
    {"/v1/alias", IngestEndpoint::kAlias},
    {"/v1/batch", IngestEndpoint::kBatch},
    {"/v1/import", IngestEndpoint::kImport},
}};

// The ISO-8601 string field `key` of `o`, parsed; nullopt when absent or not a timestamp.
std::optional<int64_t> time_field(const object& o, std::string_view key) {
  std::string_view text;
  if (o[key].get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
  int64_t ms = 0;
  if (!parse_iso8601(text, ms)) return std::nullopt;
  return ms;
}

// The event's JSON text, with a `timestamp` added when it has none.
std::string event_text(const element& event, std::optional<int64_t> batch_sent_at,
                       int64_t received_at_ms) {
  std::string text = simdjson::minify(event);
  object o;
  if (event.get_object().get(o) != simdjson::SUCCESS) return text;  // the decoder rejects it
  element ignored;
  if (o["timestamp"].get(ignored) == simdjson::SUCCESS) return text;
  int64_t timestamp = received_at_ms;
  const std::optional<int64_t> original = time_field(o, "originalTimestamp");
  std::optional<int64_t> sent_at = time_field(o, "sentAt");
  if (!sent_at) sent_at = batch_sent_at;
  if (original && sent_at) timestamp = received_at_ms - (*sent_at - *original);
  std::string field = "\"timestamp\":" + std::to_string(timestamp);
  if (text != "{}") field += ',';
  text.insert(1, field);
  return text;
}

}  // namespace

std::optional<IngestEndpoint> endpoint_from_target(std::string_view target) {
  const size_t query = target.find('?');
  if (query != std::string_view::npos) target = target.substr(0, query);
  if (target.size() > 1 && target.back() == '/') target.remove_suffix(1);
  for (const auto& [path, endpoint] : kEndpoints)
    if (target == path) return endpoint;
  return std::nullopt;
}

std::optional<EventKind> implied_kind(IngestEndpoint endpoint) {
  switch (endpoint) {
    case IngestEndpoint::kTrack:
      return EventKind::kTrack;
    case IngestEndpoint::kIdentify:
      return EventKind::kIdentify;
    case IngestEndpoint::kPage:
      return EventKind::kPage;
    case IngestEndpoint::kScreen:
      return EventKind::kScreen;
    case IngestEndpoint::kGroup:
      return EventKind::kGroup;
    case IngestEndpoint::kAlias:
      return EventKind::kAlias;
    case IngestEndpoint::kBatch:
    case IngestEndpoint::kImport:
      return std::nullopt;
  }
  return std::nullopt;
}

struct SegmentRequestParser::Impl {
  simdjson::dom::parser parser;
};

SegmentRequestParser::SegmentRequestParser() : impl_(std::make_unique<Impl>()) {}
SegmentRequestParser::~SegmentRequestParser() = default;

SegmentRequest SegmentRequestParser::parse(IngestEndpoint endpoint, std::string_view body,
                                           int64_t received_at_ms) {
  SegmentRequest request;
  element root;
  if (impl_->parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS) {
    request.error = "malformed json";
    return request;
  }
  object o;
  if (root.get_object().get(o) != simdjson::SUCCESS) {
    request.error = "body is not a JSON object";
    return request;
  }
  std::string_view write_key;
  if (o["writeKey"].get_string().get(write_key) == simdjson::SUCCESS) request.write_key = write_key;
  if (implied_kind(endpoint)) {
    request.events.push_back(event_text(root, std::nullopt, received_at_ms));
    return request;
  }
  element batch;
  if (o["batch"].get(batch) != simdjson::SUCCESS) {
    request.error = "missing batch";
    return request;
  }
  simdjson::dom::array events;
  if (batch.get_array().get(events) != simdjson::SUCCESS) {
    request.error = "batch is not an array";
    return request;
  }
  const std::optional<int64_t> sent_at = time_field(o, "sentAt");
  request.events.reserve(events.size());
  for (element event : events) request.events.push_back(event_text(event, sent_at, received_at_ms));
  return request;
}

}  // namespace segflow

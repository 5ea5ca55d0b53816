#include "connectors/http_ingest/segment_request.h"

#include <simdjson.h>

#include <array>
#include <utility>

#include "connectors/json/iso8601.h"
#include "engine/json_text.h"

namespace segflow {

namespace {

using simdjson::dom::element;
using simdjson::dom::object;

// The documented paths, and the one-letter paths analytics.js (analytics-next) posts to
// (`/v1/` + the first letter of the call type; `/v1/b` for its batching mode).
constexpr std::array<std::pair<std::string_view, IngestEndpoint>, 15> kEndpoints = {{
    {"/v1/track", IngestEndpoint::kTrack},
    {"/v1/identify", IngestEndpoint::kIdentify},
    {"/v1/page", IngestEndpoint::kPage},
    {"/v1/screen", IngestEndpoint::kScreen},
    {"/v1/group", IngestEndpoint::kGroup},
    {"/v1/alias", IngestEndpoint::kAlias},
    {"/v1/batch", IngestEndpoint::kBatch},
    {"/v1/import", IngestEndpoint::kImport},
    {"/v1/t", IngestEndpoint::kTrack},
    {"/v1/i", IngestEndpoint::kIdentify},
    {"/v1/p", IngestEndpoint::kPage},
    {"/v1/s", IngestEndpoint::kScreen},
    {"/v1/g", IngestEndpoint::kGroup},
    {"/v1/a", IngestEndpoint::kAlias},
    {"/v1/b", IngestEndpoint::kBatch},
}};

// The ISO-8601 string field `key` of `o`, parsed; nullopt when absent or not a timestamp.
std::optional<int64_t> time_field(const object& o, std::string_view key) {
  std::string_view text;
  if (o[key].get_string().get(text) != simdjson::SUCCESS) return std::nullopt;
  int64_t ms = 0;
  if (!parse_iso8601(text, ms)) return std::nullopt;
  return ms;
}

// What a /v1/batch body gives every event: `sentAt`, and the `context` and `integrations`
// objects (null when absent).
struct BatchLevel {
  std::optional<int64_t> sent_at;
  std::optional<object> context;
  std::optional<object> integrations;
};

// The members of `own` then those of `shared` whose names `own` lacks, as one object.
void append_merged(std::string& out, const object& own, const object& shared) {
  out += '{';
  bool first = true;
  auto member = [&](std::string_view key, const element& value) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, key);
    out += ':';
    out += simdjson::minify(value);
  };
  for (auto field : own) member(field.key, field.value);
  element ignored;
  for (auto field : shared)
    if (own[field.key].get(ignored) != simdjson::SUCCESS) member(field.key, field.value);
  out += '}';
}

// `event` with the batch's `context` and `integrations` merged in (Segment's semantics: the
// event's own members win, member by member).
std::string merged_event(const object& event, const BatchLevel& batch) {
  std::string out = "{";
  bool context_seen = false, integrations_seen = false;
  for (auto field : event) {
    if (out.size() > 1) out += ',';
    append_json_string(out, field.key);
    out += ':';
    const bool is_context = field.key == "context", is_integrations = field.key == "integrations";
    context_seen |= is_context;
    integrations_seen |= is_integrations;
    const std::optional<object>& shared = is_context        ? batch.context
                                          : is_integrations ? batch.integrations
                                                            : std::nullopt;
    object own;
    if (shared && field.value.get_object().get(own) == simdjson::SUCCESS)
      append_merged(out, own, *shared);
    else
      out += simdjson::minify(field.value);
  }
  auto add = [&](std::string_view key, const object& value) {
    if (out.size() > 1) out += ',';
    append_json_string(out, key);
    out += ':';
    out += simdjson::minify(value);
  };
  if (batch.context && !context_seen) add("context", *batch.context);
  if (batch.integrations && !integrations_seen) add("integrations", *batch.integrations);
  out += '}';
  return out;
}

// The event's JSON text, with the batch's members merged in and a `timestamp` added when it
// has none.
std::string event_text(const element& event, const BatchLevel& batch, int64_t received_at_ms) {
  object o;
  if (event.get_object().get(o) != simdjson::SUCCESS)
    return simdjson::minify(event);  // the decoder rejects it
  std::string text =
      batch.context || batch.integrations ? merged_event(o, batch) : simdjson::minify(event);
  element ignored;
  if (o["timestamp"].get(ignored) == simdjson::SUCCESS) return text;
  int64_t timestamp = received_at_ms;
  const std::optional<int64_t> original = time_field(o, "originalTimestamp");
  std::optional<int64_t> sent_at = time_field(o, "sentAt");
  if (!sent_at) sent_at = batch.sent_at;
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
    request.events.push_back(event_text(root, BatchLevel{}, received_at_ms));
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
  BatchLevel level;
  level.sent_at = time_field(o, "sentAt");
  object shared;
  if (o["context"].get_object().get(shared) == simdjson::SUCCESS) level.context = shared;
  if (o["integrations"].get_object().get(shared) == simdjson::SUCCESS) level.integrations = shared;
  request.events.reserve(events.size());
  for (element event : events) request.events.push_back(event_text(event, level, received_at_ms));
  return request;
}

}  // namespace segflow

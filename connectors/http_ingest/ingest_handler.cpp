#include "connectors/http_ingest/ingest_handler.h"

#include <algorithm>
#include <utility>

#include "connectors/http_ingest/gzip_body.h"
#include "connectors/http_ingest/write_key_auth.h"

namespace segflow {

namespace {

constexpr std::string_view kSuccessBody = R"({"success":true})";
constexpr size_t kEndpointCount = 8;

}  // namespace

// Scratch state of one HTTP thread: a request parser and one decoder per endpoint (the
// single-call endpoints imply the event's type).
struct IngestHandler::PerThread {
  SegmentRequestParser parser;
  std::array<std::unique_ptr<SegmentDecoder>, kEndpointCount> decoders;
  std::string inflated;

  explicit PerThread(size_t max_event_bytes) {
    for (size_t i = 0; i < kEndpointCount; ++i) {
      SegmentDecoder::Options options;
      options.max_event_bytes = max_event_bytes;
      options.implied_kind = implied_kind(static_cast<IngestEndpoint>(i));
      decoders[i] = std::make_unique<SegmentDecoder>(std::move(options));
    }
  }
};

IngestHandler::IngestHandler(Settings settings, size_t threads, IngestQueue& queue,
                             const Clock& clock, DeadLetterOutput* dead_letters)
    : settings_(std::move(settings)), queue_(queue), clock_(clock), dead_letters_(dead_letters) {
  for (size_t i = 0; i < std::max<size_t>(1, threads); ++i)
    threads_.push_back(std::make_unique<PerThread>(settings_.max_event_bytes));
}

IngestHandler::~IngestHandler() = default;

bool IngestHandler::authorized(const HttpRequest& request,
                               const std::string& body_write_key) const {
  std::string key = body_write_key;
  if (!request.authorization.empty()) {
    auto user = basic_auth_user(request.authorization);
    if (!user) return false;
    key = std::move(*user);
  }
  if (key.empty()) return false;
  return std::find(settings_.write_keys.begin(), settings_.write_keys.end(), key) !=
         settings_.write_keys.end();
}

HttpReply IngestHandler::reject(int status, std::string_view reason) {
  stats_.requests_rejected.fetch_add(1, std::memory_order_relaxed);
  return HttpReply{status, json_error_body(reason), 0};
}

void IngestHandler::handle(HttpRequest& request, size_t thread, HttpResponder respond) {
  PerThread& scratch = *threads_[thread % threads_.size()];
  stats_.body_bytes.fetch_add(request.body.size(), std::memory_order_relaxed);
  const std::optional<IngestEndpoint> endpoint = endpoint_from_target(request.target);
  if (!endpoint) return respond(reject(404, "unknown path " + request.target));
  if (request.method != "POST") return respond(reject(405, "use POST"));

  std::string_view body = request.body;
  if (request.content_encoding == "gzip") {
    switch (gunzip_body(body, settings_.max_body_bytes, scratch.inflated)) {
      case GunzipStatus::kOk:
        body = scratch.inflated;
        break;
      case GunzipStatus::kTooLarge:
        return respond(reject(413, "request body too large"));
      case GunzipStatus::kCorrupt:
        return respond(reject(400, "malformed gzip body"));
    }
  } else if (!request.content_encoding.empty() && request.content_encoding != "identity") {
    return respond(reject(415, "unsupported content encoding " + request.content_encoding));
  }

  const int64_t received_at = clock_.now_ms();
  SegmentRequest parsed = scratch.parser.parse(*endpoint, body, received_at);
  if (!authorized(request, parsed.write_key))
    return respond(reject(401, "missing or unknown write key"));
  if (parsed.error != nullptr) return respond(reject(400, parsed.error));

  SegmentDecoder& decoder = *scratch.decoders[static_cast<size_t>(*endpoint)];
  IngestQueue::Entry entry{BatchPool::acquire(), nullptr};
  entry.batch->note_ingest(ingest_clock_ns());  // end-to-end latency counts from here
  const bool single_call = implied_kind(*endpoint).has_value();
  std::vector<std::pair<size_t, DecodeResult>> rejected;  // dead-lettered once accepted
  for (size_t i = 0; i < parsed.events.size(); ++i) {
    const DecodeResult r = decoder.decode(parsed.events[i], *entry.batch);
    if (r.is_ok()) continue;
    if (single_call) return respond(reject(400, r.why()));
    rejected.emplace_back(i, r);
  }
  const auto send_dead_letters = [&] {
    stats_.events_dead_lettered.fetch_add(rejected.size(), std::memory_order_relaxed);
    if (dead_letters_ == nullptr) return;
    for (const auto& [index, result] : rejected)
      dead_letters_->send(settings_.origin + ":" + request.target + "#" + std::to_string(index),
                          result.why(), parsed.events[index]);
  };
  if (entry.batch->empty()) {  // every event was rejected, or none came
    send_dead_letters();
    stats_.requests_accepted.fetch_add(1, std::memory_order_relaxed);
    return respond(HttpReply{200, std::string(kSuccessBody), 0});
  }
  const size_t events = entry.batch->size();
  entry.done = [this, respond](bool accepted) {
    if (accepted) {
      stats_.requests_accepted.fetch_add(1, std::memory_order_relaxed);
      respond(HttpReply{200, std::string(kSuccessBody), 0});
    } else {
      stats_.requests_busy.fetch_add(1, std::memory_order_relaxed);
      respond(HttpReply{503, json_error_body("shutting down"), settings_.retry_after_s});
    }
  };
  switch (queue_.push(entry)) {
    case IngestQueue::PushResult::kQueued:
      stats_.events_queued.fetch_add(events, std::memory_order_relaxed);
      send_dead_letters();
      return;
    case IngestQueue::PushResult::kFull:
      stats_.requests_busy.fetch_add(1, std::memory_order_relaxed);
      return respond(
          HttpReply{503, json_error_body("pipeline busy, retry later"), settings_.retry_after_s});
    case IngestQueue::PushResult::kClosed:
      stats_.requests_busy.fetch_add(1, std::memory_order_relaxed);
      return respond(HttpReply{503, json_error_body("shutting down"), settings_.retry_after_s});
  }
}

}  // namespace segflow

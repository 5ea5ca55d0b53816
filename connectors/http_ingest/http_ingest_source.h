// HttpIngestSource ("type: http_ingest"): a source fed by HTTP clients speaking Segment's
// HTTP Tracking API (POST /v1/track, /v1/identify, /v1/page, /v1/screen, /v1/group,
// /v1/alias, /v1/batch, /v1/import), so Segment's SDKs (analytics-node, ...) can send to
// segflow by changing their host. Write keys by Basic auth (the key as user name) or a
// `writeKey` body field; gzip bodies; a body size limit. Requests are decoded on the HTTP
// threads into a bounded queue that poll() empties; a request is answered 200 once poll has
// emitted its events, 503 with Retry-After when the queue is full or the job is stopping,
// so an answered 200 is never lost by a graceful stop. Event time: see segment_request.h.
// Parallelism 1 (one listening socket). Thread safety: the Source methods from the
// subtask's thread; the HTTP threads live between open() and close().
//
// Example:
//   - id: events
//     type: http_ingest
//     address: 0.0.0.0       # default 127.0.0.1
//     port: 8088             # 0: an ephemeral port, logged at start
//     write_keys: [my-write-key]
//     threads: 2             # HTTP I/O threads
//     max_body_bytes: 524288 # also the limit of an inflated gzip body
//     max_event_bytes: 32768
//     max_queued_events: 20000
//     retry_after: 1s
// Metrics: connectors/http_ingest/ingest_metrics.h.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connectors/http_ingest/ingest_handler.h"
#include "connectors/http_ingest/ingest_metrics.h"
#include "connectors/http_ingest/ingest_queue.h"
#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class HttpServer;

class HttpIngestSource final : public Source {
 public:
  struct Config {
    std::string address = "127.0.0.1";
    uint16_t port = 8088;
    std::vector<std::string> write_keys;
    size_t threads = 2;
    size_t max_body_bytes = 512 * 1024;
    size_t max_event_bytes = 32 * 1024;
    size_t max_queued_events = 20000;
    int64_t retry_after_ms = 1000;
    static Config parse(const ConfigNode& node);
  };

  static constexpr size_t kEventsPerPoll = 1024;

  explicit HttpIngestSource(const Config& config);
  ~HttpIngestSource() override;

  // Starts listening; throws std::runtime_error when it cannot (or with parallelism > 1).
  void open(OperatorContext& ctx) override;
  SourceStatus poll(Output& out) override;
  // Answers what is still queued 503, stops listening.
  void close() override;

  uint16_t port() const;
  size_t queued_events() const { return queue_.queued_events(); }
  const IngestHandler::Stats& stats() const { return handler_->stats(); }
  uint64_t records_emitted() const { return records_emitted_; }

 private:
  const Config config_;
  std::unique_ptr<IngestMetrics> metrics_;  // outlives the server (declared before it)
  IngestQueue queue_;
  std::unique_ptr<IngestHandler> handler_;
  std::unique_ptr<HttpServer> server_;
  void report_bytes_in();

  std::vector<IngestQueue::Entry> taken_;  // reused by poll
  uint64_t records_emitted_ = 0;
  uint64_t bytes_reported_ = 0;  // request body bytes already added to ctx().bytes_in
};

}  // namespace segflow

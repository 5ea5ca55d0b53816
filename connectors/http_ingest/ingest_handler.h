// IngestHandler: answers one request to the Segment-compatible HTTP ingest. Checks method,
// path, write key and encoding, splits and decodes the body into a batch of records on the
// calling HTTP thread, and queues the batch; the reply ({"success":true}) is sent when the
// source's poll has emitted it. Bad requests get 4xx with {"success":false,"error":...};
// a full queue gets 503 with Retry-After. Inside an accepted /v1/batch, an event the
// decoder rejects goes to the dead-letter output with its reason and is counted.
// Thread safety: handle() from the HTTP threads, each passing its own thread index.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connectors/http_ingest/http_server.h"
#include "connectors/http_ingest/ingest_queue.h"
#include "connectors/http_ingest/segment_request.h"
#include "connectors/json/segment_decoder.h"
#include "engine/clock.h"
#include "engine/dead_letter.h"

namespace segflow {

class IngestHandler {
 public:
  struct Settings {
    std::vector<std::string> write_keys;
    size_t max_body_bytes = 512 * 1024;  // also the limit of an inflated gzip body
    size_t max_event_bytes = 32 * 1024;
    int retry_after_s = 1;
    std::string origin = "http_ingest";  // dead-letter origin prefix (the operator id)
  };

  // Counters, readable from any thread.
  struct Stats {
    std::atomic<uint64_t> requests_accepted{0};
    std::atomic<uint64_t> requests_rejected{0};  // 4xx
    std::atomic<uint64_t> requests_busy{0};      // 503
    std::atomic<uint64_t> events_queued{0};
    std::atomic<uint64_t> events_dead_lettered{0};
    std::atomic<uint64_t> body_bytes{0};  // as received, before inflating
  };

  IngestHandler(Settings settings, size_t threads, IngestQueue& queue, const Clock& clock,
                DeadLetterOutput* dead_letters);
  ~IngestHandler();

  void handle(HttpRequest& request, size_t thread, HttpResponder respond);

  const Stats& stats() const { return stats_; }

 private:
  struct PerThread;

  bool authorized(const HttpRequest& request, const std::string& body_write_key) const;
  HttpReply reject(int status, std::string_view reason);

  const Settings settings_;
  IngestQueue& queue_;
  const Clock& clock_;
  DeadLetterOutput* const dead_letters_;
  std::vector<std::unique_ptr<PerThread>> threads_;
  Stats stats_;
};

}  // namespace segflow

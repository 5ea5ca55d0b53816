// WebhookSink (`type: webhook`): POSTs records (segment changes) to an HTTP endpoint as
// JSON arrays of the objects connectors/json/record_json.h writes, e.g.
//   [{"type":"derived","event":"entered","profile":"u1","timestamp":"...Z",
//     "segment":"high_intent","count":4}, ...]
// A background thread per subtask sends them in batches over one kept-alive HTTP/1.1
// connection (HTTPS when the URL is https://). A batch goes out when it holds `max_records`
// records or `max_bytes` of JSON, or when its oldest record waited `max_delay`.
//
// Delivery is at least once: a batch is retried on a connection failure, a timeout, or an
// HTTP 408, 429 or 5xx answer, after exponential backoff with jitter, up to `max_attempts`
// attempts in all (a 429 or 503 answer with `Retry-After`, seconds or an HTTP-date, waits
// that long instead, at most `max_backoff`); then each of its records goes to the dead-letter
// output with reason `webhook retries exhausted`. Any other non-2xx answer is final: reason
// `webhook rejected`. Both are counted in segflow_dead_letters_total{reason}. The queue between the
// subtask and the sender holds at most `queue_capacity` records; when it is full the
// subtask waits (backpressure). close() sends everything queued before returning.
//
// Keys:
//   url              required, http://host[:port]/path or https://...
//   headers          mapping of extra request headers, e.g. {Authorization: "Bearer ..."}
//   max_records      records per request, default 100
//   max_bytes        JSON bytes per request (a single larger record goes alone), default 1 MiB
//   max_delay        longest wait of a record for its batch to fill, default 1s
//   timeout          per attempt, connecting included, default 10s
//   max_attempts     default 5 (1 = no retry)
//   initial_backoff  default 200ms;  max_backoff  default 10s
//   queue_capacity   default 10000 records
//   ca_file          HTTPS: PEM file of trusted CAs (default: the system's)
//   verify_tls       HTTPS: verify the certificate and host name, default true
//
// Thread safety: one instance per subtask; its sender thread is its own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "connectors/retry/backoff.h"
#include "connectors/retry/delivery_metrics.h"
#include "connectors/webhook/http_client.h"
#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class WebhookSink final : public Operator {
 public:
  struct Config {
    HttpClientOptions http;
    size_t max_records = 100;
    size_t max_bytes = 1 << 20;
    int64_t max_delay_ms = 1'000;
    uint32_t max_attempts = 5;
    BackoffConfig backoff{200, 10'000};
    size_t queue_capacity = 10'000;
    static Config parse(const ConfigNode& node);
  };

  explicit WebhookSink(const Config& config) : config_(config) {}
  ~WebhookSink() override;
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  // Throws std::runtime_error if the TLS settings cannot be loaded.
  void open(OperatorContext& ctx) override;
  void process(const Batch& in, Output& out) override;
  void close(Output& out) override;

 private:
  // A queued record: its JSON and when it was queued.
  struct Pending {
    std::string json;
    std::chrono::steady_clock::time_point queued;
  };

  void run_sender();
  // Takes the next batch off the queue (waiting for it to fill or age); false when closing
  // and nothing is left.
  bool next_batch(std::vector<std::string>& batch);
  // Sends one batch with retries; dead-letters it if that fails.
  void deliver(const std::vector<std::string>& batch);
  void dead_letter(const std::vector<std::string>& batch, const char* reason,
                   const std::string& why);
  // Waits `ms` or until the sink is abandoned; false if abandoned.
  bool pause(int64_t ms);
  // Stops the sender: after sending what is queued, or (`abandon`) dropping it.
  void stop_sender(bool abandon);

  Config config_;
  std::string origin_;
  std::unique_ptr<HttpClient> client_;

  std::mutex mutex_;
  std::condition_variable queue_changed_;
  std::deque<Pending> queue_;
  size_t queued_bytes_ = 0;
  bool closing_ = false;
  bool abandoned_ = false;  // destroyed without close(): stop retrying
  std::thread sender_;

  // Sender thread only.
  std::unique_ptr<Backoff> backoff_;
  std::optional<DeliveryMetrics> delivery_metrics_;  // set in open()
  uint64_t delivered_ = 0;
  uint64_t requests_ = 0;
  uint64_t failed_attempts_ = 0;
  uint64_t dead_lettered_ = 0;
};

}  // namespace segflow

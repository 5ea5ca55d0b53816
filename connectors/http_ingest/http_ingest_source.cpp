#include "connectors/http_ingest/http_ingest_source.h"

#include <iostream>
#include <stdexcept>

#include "connectors/http_ingest/http_server.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("http_ingest", HttpIngestSource);

namespace {

constexpr int64_t kStopGraceMs = 2000;

}  // namespace

HttpIngestSource::Config HttpIngestSource::Config::parse(const ConfigNode& node) {
  Config c;
  c.address = node.string("address", c.address);
  if (c.address.empty()) node.fail_at("address", "must not be empty");
  c.port = static_cast<uint16_t>(node.integer("port", c.port, 0, 65535));
  if (!node.has("write_keys"))
    node.fail("missing 'write_keys': the write keys clients may send (Basic auth user name)");
  c.write_keys = node.strings("write_keys");
  if (c.write_keys.empty()) node.fail_at("write_keys", "give at least one write key");
  for (const std::string& key : c.write_keys)
    if (key.empty()) node.fail_at("write_keys", "a write key must not be empty");
  c.threads = static_cast<size_t>(node.integer("threads", 2, 1, 64));
  c.max_body_bytes = static_cast<size_t>(
      node.integer("max_body_bytes", int64_t(c.max_body_bytes), 1024, int64_t{256} << 20));
  c.max_event_bytes = static_cast<size_t>(
      node.integer("max_event_bytes", int64_t(c.max_event_bytes), 64, int64_t{64} << 20));
  c.max_queued_events = static_cast<size_t>(
      node.integer("max_queued_events", int64_t(c.max_queued_events), 1, int64_t{1} << 30));
  c.retry_after_ms = node.duration_ms("retry_after", c.retry_after_ms);
  if (c.retry_after_ms < 1000) node.fail_at("retry_after", "must be at least 1s");
  return c;
}

HttpIngestSource::HttpIngestSource(const Config& config)
    : config_(config), queue_(config.max_queued_events) {}

HttpIngestSource::~HttpIngestSource() { close(); }

void HttpIngestSource::open(OperatorContext& ctx) {
  Source::open(ctx);
  if (ctx.parallelism != 1)
    throw std::runtime_error(ctx.operator_id + ": http_ingest runs with parallelism 1");
  IngestHandler::Settings settings;
  settings.write_keys = config_.write_keys;
  settings.max_body_bytes = config_.max_body_bytes;
  settings.max_event_bytes = config_.max_event_bytes;
  settings.retry_after_s = static_cast<int>((config_.retry_after_ms + 999) / 1000);
  settings.origin = ctx.operator_id;
  handler_ = std::make_unique<IngestHandler>(std::move(settings), config_.threads, queue_,
                                             *ctx.clock, ctx.dead_letters);
  HttpServer::Options options;
  options.address = config_.address;
  options.port = config_.port;
  options.threads = config_.threads;
  options.max_body_bytes = config_.max_body_bytes;
  metrics_ = std::make_unique<IngestMetrics>(ctx.metrics());
  server_ = std::make_unique<HttpServer>(
      options, [handler = handler_.get(), metrics = metrics_.get()](
                   HttpRequest& request, size_t thread, HttpResponder respond) {
        const size_t endpoint = IngestMetrics::endpoint_of(request.target);
        metrics->count_bytes(endpoint, request.body.size());
        handler->handle(request, thread,
                        [metrics, endpoint, respond = std::move(respond)](HttpReply reply) {
                          metrics->count_request(endpoint, reply.status);
                          respond(std::move(reply));
                        });
      });
  try {
    server_->start();
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(ctx.operator_id + ": " + e.what());
  }
  std::cerr << "segflow: " << ctx.operator_id << ": http_ingest listening on http://"
            << config_.address << ':' << server_->port() << "/v1/\n";
}

SourceStatus HttpIngestSource::poll(Output& out) {
  report_bytes_in();
  taken_.clear();
  queue_.pop(kEventsPerPoll, taken_);
  if (taken_.empty()) return SourceStatus::kIdle;
  for (IngestQueue::Entry& entry : taken_) {
    const Batch& batch = *entry.batch;
    for (const Record& r : batch.records()) out.forward(batch, r);
    records_emitted_ += batch.size();
  }
  out.flush();  // a 200 means the events are downstream
  for (IngestQueue::Entry& entry : taken_) {
    entry.batch.reset();
    entry.done(true);
  }
  taken_.clear();
  return SourceStatus::kMore;
}

void HttpIngestSource::report_bytes_in() {
  const uint64_t total = handler_->stats().body_bytes.load(std::memory_order_relaxed);
  if (total == bytes_reported_ || ctx().bytes_in == nullptr) return;
  ctx().bytes_in->fetch_add(total - bytes_reported_, std::memory_order_relaxed);
  bytes_reported_ = total;
}

void HttpIngestSource::close() {
  for (IngestQueue::Entry& entry : queue_.close()) entry.done(false);
  if (server_) server_->stop(kStopGraceMs);
  server_.reset();
}

uint16_t HttpIngestSource::port() const { return server_ ? server_->port() : 0; }

}  // namespace segflow

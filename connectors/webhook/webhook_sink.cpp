#include "connectors/webhook/webhook_sink.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>
#include <random>

#include "connectors/json/record_json.h"
#include "connectors/webhook/retry_after.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("webhook", WebhookSink);

WebhookSink::Config WebhookSink::Config::parse(const ConfigNode& node) {
  Config c;
  std::string error;
  const std::string url = node.string("url");
  std::optional<WebhookUrl> parsed = WebhookUrl::parse(url, error);
  if (!parsed) node.fail_at("url", error + ": '" + url + "'");
  c.http.url = std::move(*parsed);
  if (std::optional<ConfigNode> headers = node.optional_child("headers")) {
    for (const auto& [name, value] : headers->entries()) {
      if (name.empty() || name.find_first_of(" :\r\n") != std::string::npos)
        headers->fail_at(name, "bad header name '" + name + "'");
      const std::string text = value.scalar();
      if (text.find_first_of("\r\n") != std::string::npos)
        headers->fail_at(name, "a header value must be one line");
      c.http.headers.emplace_back(name, text);
    }
  }
  c.http.timeout_ms = node.duration_ms("timeout", 10'000);
  if (c.http.timeout_ms <= 0) node.fail_at("timeout", "must be positive");
  c.http.ca_file = node.string("ca_file", "");
  c.http.verify_tls = node.boolean("verify_tls", true);
  if (!c.http.url.tls && (node.has("ca_file") || node.has("verify_tls")))
    node.fail_at(node.has("ca_file") ? "ca_file" : "verify_tls", "only for https:// URLs");
  c.max_records = static_cast<size_t>(node.integer("max_records", 100, 1, 1'000'000));
  c.max_bytes = static_cast<size_t>(node.integer("max_bytes", 1 << 20, 2, int64_t{1} << 32));
  c.max_delay_ms = node.duration_ms("max_delay", 1'000);
  if (c.max_delay_ms < 0) node.fail_at("max_delay", "must not be negative");
  c.max_attempts = static_cast<uint32_t>(node.integer("max_attempts", 5, 1, 1000));
  c.backoff = BackoffConfig::parse(node, c.backoff);
  c.queue_capacity = static_cast<size_t>(node.integer("queue_capacity", 10'000, 1, 100'000'000));
  return c;
}

WebhookSink::~WebhookSink() { stop_sender(/*abandon=*/true); }

void WebhookSink::open(OperatorContext& ctx) {
  Operator::open(ctx);
  origin_ = ctx.operator_id + "#" + std::to_string(ctx.subtask);
  delivery_metrics_.emplace(ctx.metrics());
  client_ = std::make_unique<HttpClient>(config_.http);
  backoff_ = std::make_unique<Backoff>(config_.backoff, std::random_device{}());
  sender_ = std::thread([this] { run_sender(); });
}

void WebhookSink::process(const Batch& in, Output& /*out*/) {
  std::vector<std::string> lines;
  lines.reserve(in.size());
  for (const Record& r : in.records()) append_record_json(lines.emplace_back(), in, r);
  std::unique_lock lock(mutex_);
  for (std::string& line : lines) {
    queue_changed_.wait(lock, [this] { return queue_.size() < config_.queue_capacity; });
    queued_bytes_ += line.size() + 1;
    queue_.push_back({std::move(line), std::chrono::steady_clock::now()});
    if (queue_.size() >= config_.max_records || queued_bytes_ >= config_.max_bytes)
      queue_changed_.notify_all();
  }
  queue_changed_.notify_all();
}

void WebhookSink::close(Output& /*out*/) {
  stop_sender(/*abandon=*/false);
  std::cerr << "webhook sink " << origin_ << ": " << delivered_ << " records delivered in "
            << requests_ << " requests, " << failed_attempts_ << " failed attempts, "
            << dead_lettered_ << " records dead-lettered\n";
}

void WebhookSink::stop_sender(bool abandon) {
  {
    std::lock_guard lock(mutex_);
    closing_ = true;
    if (abandon) {
      abandoned_ = true;
      queue_.clear();
      queued_bytes_ = 0;
    }
  }
  queue_changed_.notify_all();
  if (sender_.joinable()) sender_.join();
}

void WebhookSink::run_sender() {
  std::vector<std::string> batch;
  while (next_batch(batch)) deliver(batch);
}

bool WebhookSink::next_batch(std::vector<std::string>& batch) {
  batch.clear();
  std::unique_lock lock(mutex_);
  for (;;) {
    if (queue_.empty()) {
      if (closing_) return false;
      queue_changed_.wait(lock);
      continue;
    }
    if (closing_ || queue_.size() >= config_.max_records || queued_bytes_ >= config_.max_bytes)
      break;
    const auto deadline = queue_.front().queued + std::chrono::milliseconds(config_.max_delay_ms);
    if (queue_changed_.wait_until(lock, deadline) == std::cv_status::timeout) break;
  }
  size_t bytes = 2;  // the brackets
  while (!queue_.empty() && batch.size() < config_.max_records) {
    const size_t size = queue_.front().json.size() + 1;
    if (!batch.empty() && bytes + size > config_.max_bytes) break;
    bytes += size;
    queued_bytes_ -= size;
    batch.push_back(std::move(queue_.front().json));
    queue_.pop_front();
  }
  lock.unlock();
  queue_changed_.notify_all();  // room for a waiting producer
  return true;
}

void WebhookSink::deliver(const std::vector<std::string>& batch) {
  std::string body = "[";
  for (const std::string& json : batch) {
    if (body.size() > 1) body += ',';
    body += json;
  }
  body += ']';
  for (uint32_t attempt = 1;; ++attempt) {
    ++requests_;
    const HttpResult result = client_->post(body);
    if (result.status >= 200 && result.status < 300) {
      delivered_ += batch.size();
      delivery_metrics_->delivered.inc(batch.size());
      return;
    }
    const std::string why =
        result.status != 0 ? "HTTP " + std::to_string(result.status) : result.error;
    const bool retryable =
        result.status == 0 || result.status == 408 || result.status == 429 || result.status >= 500;
    if (!retryable) {
      dead_letter(batch, "webhook rejected", why);
      return;
    }
    ++failed_attempts_;
    if (attempt >= config_.max_attempts) {
      dead_letter(batch, "webhook retries exhausted", why);
      return;
    }
    delivery_metrics_->retries.inc();
    // 429 and 503 may say when to come back (Retry-After), within max_backoff.
    std::optional<int64_t> asked;
    if (result.status == 429 || result.status == 503)
      asked = retry_after_ms(result.retry_after, std::chrono::system_clock::now());
    const int64_t delay =
        asked ? std::min(*asked, config_.backoff.max_ms) : backoff_->delay_ms(attempt);
    std::cerr << "webhook sink " << origin_ << ": " << why << " (attempt " << attempt << " of "
              << config_.max_attempts << "); retrying in " << delay << " ms\n";
    if (!pause(delay)) return;
  }
}

bool WebhookSink::pause(int64_t ms) {
  std::unique_lock lock(mutex_);
  return !queue_changed_.wait_for(lock, std::chrono::milliseconds(ms),
                                  [this] { return abandoned_; });
}

void WebhookSink::dead_letter(const std::vector<std::string>& batch, const char* reason,
                              const std::string& why) {
  dead_lettered_ += batch.size();
  delivery_metrics_->failed.inc(batch.size());
  std::cerr << "webhook sink " << origin_ << ": " << why << ": " << batch.size()
            << " records dead-lettered (" << reason << ")\n";
  if (ctx().dead_letters == nullptr) return;
  for (const std::string& json : batch) ctx().dead_letters->send(origin_, reason, json);
}

}  // namespace segflow

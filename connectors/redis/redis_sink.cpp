#include "connectors/redis/redis_sink.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "engine/json_text.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("redis", RedisSink);

namespace {

void parse_address(const ConfigNode& node, RedisEndpoint& endpoint) {
  const std::string address = node.string("address", "127.0.0.1:6379");
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    node.fail_at("address", "expected host:port, found '" + address + "'");
  endpoint.host = address.substr(0, colon);
  try {
    size_t used = 0;
    const int port = std::stoi(address.substr(colon + 1), &used);
    if (used != address.size() - colon - 1 || port <= 0 || port > 65535)
      throw std::out_of_range("");
    endpoint.port = port;
  } catch (const std::exception&) {
    node.fail_at("address", "bad port in '" + address + "'");
  }
}

}  // namespace

const std::string& RedisSink::script() {
  static const std::string kScript = R"lua(
local last = redis.call('HGET', KEYS[3], ARGV[2])
if last and tonumber(last) > tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[1], ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
else
  redis.call('SREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1
)lua";
  return kScript;
}

RedisSink::Config RedisSink::Config::parse(const ConfigNode& node) {
  Config c;
  parse_address(node, c.endpoint);
  c.endpoint.database = node.integer("database", 0, 0, 1'000'000);
  c.endpoint.password = node.string("password", "");
  c.endpoint.connect_timeout_ms = node.duration_ms("connect_timeout", 2'000);
  c.endpoint.command_timeout_ms = node.duration_ms("command_timeout", 5'000);
  if (c.endpoint.connect_timeout_ms <= 0) node.fail_at("connect_timeout", "must be positive");
  if (c.endpoint.command_timeout_ms <= 0) node.fail_at("command_timeout", "must be positive");
  c.key_prefix = node.string("key_prefix", c.key_prefix);
  c.pipeline = static_cast<size_t>(node.integer("pipeline", 1000, 1, 1'000'000));
  c.backoff = BackoffConfig::parse(node, c.backoff);
  c.entered_event = node.string("entered_event", c.entered_event);
  c.exited_event = node.string("exited_event", c.exited_event);
  c.segment_property = node.string("segment_property", c.segment_property);
  if (c.entered_event == c.exited_event)
    node.fail_at("exited_event", "must differ from entered_event");
  return c;
}

RedisSink::RedisSink(const Config& config)
    : config_(config),
      names_{intern(config.entered_event), intern(config.exited_event),
             intern(config.segment_property)},
      connection_(config.endpoint),
      backoff_(config.backoff, std::random_device{}()) {}

void RedisSink::open(OperatorContext& ctx) {
  Operator::open(ctx);
  origin_ = ctx.operator_id + "#" + std::to_string(ctx.subtask);
  delivery_metrics_.emplace(ctx.metrics());
}

void RedisSink::process(const Batch& in, Output& /*out*/) {
  pending_size_ = 0;
  for (const Record& r : in.records()) {
    if (pending_size_ == pending_.size()) pending_.emplace_back();
    const char* reason = read_membership_change(in, r, names_, pending_[pending_size_]);
    if (reason == nullptr) {
      ++pending_size_;
      continue;
    }
    if (ctx().dead_letters != nullptr) {
      std::string payload = "{\"profile\":";
      append_json_string(payload, r.key);
      payload += ",\"event\":";
      append_json_string(payload, symbol_name(r.event));
      payload += ",\"event_time\":" + std::to_string(r.event_time) + "}";
      ctx().dead_letters->send(origin_, reason, payload);
    }
  }
  apply_pending();
}

std::string RedisSink::connect() {
  RedisReply reply = connection_.connect();
  if (reply.kind == RedisReply::Kind::kValue) {
    reply = connection_.command({"SCRIPT", "LOAD", script()});
    if (reply.kind == RedisReply::Kind::kValue) {
      script_sha_ = reply.text;
      if (ever_connected_)
        std::cerr << "redis sink " << origin_ << ": reconnected to " << config_.endpoint.host << ':'
                  << config_.endpoint.port << '\n';
      ever_connected_ = true;
      return "";
    }
    if (reply.kind == RedisReply::Kind::kError && is_transient_redis_error(reply.text))
      reply.kind = RedisReply::Kind::kClosed;
    reply.text = "SCRIPT LOAD: " + reply.text;
    connection_.close();
  }
  // Refused for good (wrong password, no such database, scripting disabled): retrying
  // cannot help, so the job fails with the reason.
  if (reply.kind == RedisReply::Kind::kError)
    throw std::runtime_error("redis sink " + origin_ + ": " + config_.endpoint.host + ":" +
                             std::to_string(config_.endpoint.port) + " refused: " + reply.text);
  return reply.text;
}

void RedisSink::wait_before_retry(const std::string& error, uint32_t failures) {
  delivery_metrics_->retries.inc();
  const int64_t delay = backoff_.delay_ms(failures);
  std::cerr << "redis sink " << origin_ << ": " << config_.endpoint.host << ':'
            << config_.endpoint.port << ": " << error << "; retry " << failures << " in " << delay
            << " ms\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(delay));
}

void RedisSink::append_change(const MembershipChange& c) {
  keys_[0].assign(config_.key_prefix).append("segment:").append(c.segment);
  keys_[1].assign(config_.key_prefix).append("profile:").append(c.profile);
  keys_[2].assign(config_.key_prefix).append("applied:").append(c.profile);
  const std::string time = std::to_string(c.time);
  connection_.append({"EVALSHA", script_sha_, "3", keys_[0], keys_[1], keys_[2], c.profile,
                      c.segment, time, c.entered ? "1" : "0"});
}

void RedisSink::reject(const MembershipChange& c, const std::string& error) {
  delivery_metrics_->failed.inc();
  if (ctx().dead_letters == nullptr) return;
  std::string payload = "{\"profile\":";
  append_json_string(payload, c.profile);
  payload += ",\"segment\":";
  append_json_string(payload, c.segment);
  payload += c.entered ? ",\"event\":\"entered\"" : ",\"event\":\"exited\"";
  payload += ",\"event_time\":" + std::to_string(c.time) + ",\"error\":";
  append_json_string(payload, error);
  payload += '}';
  ctx().dead_letters->send(origin_, "redis rejected change", payload);
}

void RedisSink::apply_pending() {
  size_t acked = 0;
  uint32_t failures = 0;
  std::string error;
  while (acked < pending_size_) {
    if (!connection_.connected()) {
      if (error = connect(); !error.empty()) {
        wait_before_retry(error, ++failures);
        continue;
      }
    }
    const size_t end = std::min(pending_size_, acked + config_.pipeline);
    for (size_t i = acked; i < end; ++i) append_change(pending_[i]);
    error.clear();
    for (size_t i = acked; i < end; ++i) {
      const RedisReply reply = connection_.read();
      if (reply.kind == RedisReply::Kind::kClosed ||
          (reply.kind == RedisReply::Kind::kError && is_transient_redis_error(reply.text))) {
        error = reply.text;
        break;
      }
      // A value reply is 1 (applied) or 0 (a later change was applied already): done.
      if (reply.kind == RedisReply::Kind::kError)
        reject(pending_[i], reply.text);
      else
        delivery_metrics_->delivered.inc();
      acked = i + 1;
    }
    if (!error.empty()) {
      // The replies still in flight are dropped with the connection; their changes are sent
      // again (applying one twice is harmless).
      connection_.close();
      wait_before_retry(error, ++failures);
    } else {
      failures = 0;
    }
  }
  pending_size_ = 0;
}

}  // namespace segflow

#include "connectors/redis/redis_connection.h"

#include <sys/time.h>

#include <csignal>
#include <mutex>
#include <string>
#include <vector>

#include <hiredis/hiredis.h>

namespace segflow {

namespace {

timeval to_timeval(int64_t ms) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(ms / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
  return tv;
}

// hiredis writes with write(2): on a connection Redis has closed that raises SIGPIPE, which
// would kill the process instead of failing the write with EPIPE. Ignored once, process
// wide (what network clients that cannot pass MSG_NOSIGNAL do).
void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

}  // namespace

bool is_transient_redis_error(std::string_view error) {
  for (std::string_view prefix :
       {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "READONLY", "NOSCRIPT", "OOM"})
    if (error.starts_with(prefix)) return true;
  return false;
}

RedisConnection::~RedisConnection() { close(); }

void RedisConnection::close() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

RedisReply RedisConnection::connect() {
  ignore_sigpipe();
  close();
  RedisReply result;
  redisContext* c = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port,
                                            to_timeval(endpoint_.connect_timeout_ms));
  if (c == nullptr) {
    result.text = "cannot allocate a redis context";
    return result;
  }
  if (c->err != 0) {
    result.text = c->errstr;
    redisFree(c);
    return result;
  }
  context_ = c;
  if (redisSetTimeout(c, to_timeval(endpoint_.command_timeout_ms)) != REDIS_OK ||
      redisEnableKeepAlive(c) != REDIS_OK) {
    result.text = c->errstr;
    close();
    return result;
  }
  if (!endpoint_.password.empty()) {
    result = command({"AUTH", endpoint_.password});
    if (result.kind != RedisReply::Kind::kValue) {
      if (is_transient_redis_error(result.text)) result.kind = RedisReply::Kind::kClosed;
      result.text = "AUTH: " + result.text;
      close();
      return result;
    }
  }
  if (endpoint_.database != 0) {
    result = command({"SELECT", std::to_string(endpoint_.database)});
    if (result.kind != RedisReply::Kind::kValue) {
      if (is_transient_redis_error(result.text)) result.kind = RedisReply::Kind::kClosed;
      result.text = "SELECT: " + result.text;
      close();
      return result;
    }
  }
  result.kind = RedisReply::Kind::kValue;
  return result;
}

void RedisConnection::append(std::span<const std::string_view> args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (std::string_view a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  redisAppendCommandArgv(context_, static_cast<int>(args.size()), argv.data(), lengths.data());
}

RedisReply RedisConnection::read() {
  RedisReply result;
  if (context_ == nullptr) {
    result.text = "not connected";
    return result;
  }
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
    result.text = context_->err != 0 ? context_->errstr : "connection lost";
    close();
    return result;
  }
  const auto* reply = static_cast<redisReply*>(raw);
  switch (reply->type) {
    case REDIS_REPLY_ERROR:
      result.kind = RedisReply::Kind::kError;
      result.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      result.kind = RedisReply::Kind::kValue;
      result.text.assign(reply->str, reply->len);
      break;
    default:
      result.kind = RedisReply::Kind::kValue;
      break;
  }
  freeReplyObject(raw);
  return result;
}

}  // namespace segflow

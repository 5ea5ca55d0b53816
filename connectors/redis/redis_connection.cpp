#include "connectors/redis/redis_connection.h"

#include <sys/time.h>

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

}  // namespace

RedisConnection::~RedisConnection() { close(); }

void RedisConnection::close() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

std::string RedisConnection::connect() {
  close();
  redisContext* c = redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port,
                                            to_timeval(endpoint_.connect_timeout_ms));
  if (c == nullptr) return "cannot allocate a redis context";
  if (c->err != 0) {
    std::string error = c->errstr;
    redisFree(c);
    return error;
  }
  context_ = c;
  if (redisSetTimeout(c, to_timeval(endpoint_.command_timeout_ms)) != REDIS_OK ||
      redisEnableKeepAlive(c) != REDIS_OK) {
    std::string error = c->errstr;
    close();
    return error;
  }
  const auto check = [this](const RedisReply& reply) -> std::string {
    if (reply.kind == RedisReply::Kind::kValue) return "";
    close();
    return reply.text;
  };
  if (!endpoint_.password.empty()) {
    if (std::string error = check(command({"AUTH", endpoint_.password})); !error.empty())
      return error;
  }
  if (endpoint_.database != 0) {
    const std::string db = std::to_string(endpoint_.database);
    if (std::string error = check(command({"SELECT", db})); !error.empty()) return error;
  }
  return "";
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
    case REDIS_REPLY_INTEGER:
      result.kind = RedisReply::Kind::kValue;
      result.integer = reply->integer;
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

// RedisConnection: one blocking hiredis connection with connect and command timeouts, AUTH
// and SELECT on connect, and pipelining: append() any number of commands, then read() their
// replies in order (one round trip). An I/O error or a timeout closes the connection; the
// caller reconnects. hiredis stays in the .cpp file. Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

struct redisContext;

namespace segflow {

// Where and how to reach Redis.
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  int64_t database = 0;
  std::string password;  // AUTH when not empty
  int64_t connect_timeout_ms = 2'000;
  int64_t command_timeout_ms = 5'000;
};

// One reply: a value (the text of a status or bulk string; integers and arrays are not
// read), an error reply from the server, or kClosed when the connection failed before a
// reply arrived.
struct RedisReply {
  enum class Kind { kValue, kError, kClosed };
  Kind kind = Kind::kClosed;
  std::string text;  // the status/string value, the server's error, or the I/O error
};

// Whether an error reply says "not now" rather than "never" (LOADING while Redis reloads
// its data, BUSY, TRYAGAIN, MASTERDOWN, READONLY, NOSCRIPT, OOM): worth retrying.
bool is_transient_redis_error(std::string_view error);

class RedisConnection {
 public:
  explicit RedisConnection(RedisEndpoint endpoint) : endpoint_(std::move(endpoint)) {}
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // (Re)connects, authenticates and selects the database. Returns a kValue reply on
  // success; kError when Redis refused AUTH or SELECT for good (the text says which);
  // kClosed when it cannot be reached or answered with a transient error. On failure the
  // connection is closed.
  RedisReply connect();
  bool connected() const { return context_ != nullptr; }
  void close();

  // Queues one command (its arguments, binary safe); nothing is sent before read().
  // REQUIRES: connected().
  void append(std::span<const std::string_view> args);
  void append(std::initializer_list<std::string_view> args) { append(std::span(args)); }
  // Sends what is queued and reads the next reply; kClosed closes the connection.
  RedisReply read();
  RedisReply command(std::initializer_list<std::string_view> args) {
    append(args);
    return read();
  }

 private:
  RedisEndpoint endpoint_;
  redisContext* context_ = nullptr;
};

}  // namespace segflow

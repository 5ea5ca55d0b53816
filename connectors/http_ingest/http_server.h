// HttpServer: a small HTTP/1.1 server (Boost.Beast, kept in the .cpp) that hands each
// complete request to a handler and writes the reply the handler sends back, possibly later
// and from another thread. Keep-alive connections; bodies over max_body_bytes are answered
// 413 and malformed HTTP 400 by the server itself. Runs `threads` I/O threads, each with
// its own io_context; the handler is told which one (0..threads-1) runs it, so it can keep
// per-thread scratch state. Thread safety: start/stop/port from one controlling thread; the
// handler runs on the I/O threads; an HttpResponder may be called from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace segflow {

struct HttpRequest {
  std::string method;  // "POST", ...
  std::string target;  // "/v1/track?x=1"
  std::string authorization;
  std::string content_encoding;
  std::string body;
};

struct HttpReply {
  int status = 200;
  std::string body;       // sent as application/json
  int retry_after_s = 0;  // > 0: a Retry-After header
};

// Sends the reply to one request. Call exactly once.
using HttpResponder = std::function<void(HttpReply reply)>;

class HttpServer {
 public:
  struct Options {
    std::string address = "127.0.0.1";
    uint16_t port = 0;  // 0: an ephemeral port, see port()
    size_t threads = 2;
    size_t max_body_bytes = 512 * 1024;
    int64_t idle_timeout_ms = 60'000;  // a connection with no request for this long is closed
  };
  using Handler = std::function<void(HttpRequest& request, size_t thread, HttpResponder respond)>;

  HttpServer(Options options, Handler handler);
  ~HttpServer();  // stop(0)
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the I/O threads; throws std::runtime_error when it cannot bind.
  void start();
  // The bound port (after start()).
  uint16_t port() const;
  // Stops accepting, waits up to `grace_ms` for replies already sent by the handler to be
  // written, then closes every connection and joins the threads.
  void stop(int64_t grace_ms);

  struct Impl;  // the Beast/Asio state, defined in the .cpp

 private:
  std::unique_ptr<Impl> impl_;
};

// {"success":false,"error":"<reason>"} with `reason` escaped as a JSON string.
std::string json_error_body(std::string_view reason);

}  // namespace segflow

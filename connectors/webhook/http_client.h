// HttpClient: POSTs JSON request bodies to one URL over a kept-alive HTTP/1.1 connection, HTTPS
// (OpenSSL, certificate and host name verified) when the URL is https://. Each request,
// connection set-up included, is bounded by a timeout. A connection the server closed
// while idle is re-opened once without counting as a failure. Boost.Beast/Asio stay in the
// .cpp file. Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/webhook/webhook_url.h"

namespace segflow {

struct HttpClientOptions {
  WebhookUrl url;
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
  int64_t timeout_ms = 10'000;
  std::string ca_file;     // HTTPS: trusted CAs (PEM); "" = the system's
  bool verify_tls = true;  // HTTPS: verify the server's certificate and host name
};

// The outcome of one POST: the response status, or 0 and what went wrong.
struct HttpResult {
  int status = 0;
  std::string error;
  std::string retry_after;  // the response's Retry-After header ("" if none)
};

class HttpClient {
 public:
  // Throws std::runtime_error if the TLS settings cannot be loaded (e.g. a bad ca_file).
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpResult post(std::string_view body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace segflow

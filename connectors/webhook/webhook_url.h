// WebhookUrl: the parts of an http:// or https:// URL a client needs to connect and send a
// request: scheme, host, port (default 80 / 443) and target (path and query, default "/").
// Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace segflow {

struct WebhookUrl {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;

  // The URL's parts, or nullopt with `error` saying what is wrong. IPv6 literal hosts are
  // written in brackets: http://[::1]:8080/hook.
  static std::optional<WebhookUrl> parse(std::string_view url, std::string& error);
};

}  // namespace segflow

#include "connectors/webhook/webhook_url.h"

#include <algorithm>
#include <cctype>

namespace segflow {

std::optional<WebhookUrl> WebhookUrl::parse(std::string_view url, std::string& error) {
  WebhookUrl result;
  if (url.starts_with("https://")) {
    result.tls = true;
    url.remove_prefix(8);
  } else if (url.starts_with("http://")) {
    url.remove_prefix(7);
  } else {
    error = "expected an http:// or https:// URL";
    return std::nullopt;
  }
  const size_t slash = std::min(url.find('/'), url.find('?'));
  std::string_view authority = url.substr(0, slash);
  result.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (result.target.front() == '?') result.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) {
    error = "credentials in the URL are not supported; use a header";
    return std::nullopt;
  }
  std::string_view port;
  if (authority.starts_with('[')) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "unclosed '[' in the host";
      return std::nullopt;
    }
    result.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      error = "unexpected text after the host";
      return std::nullopt;
    }
    if (!rest.empty()) port = rest.substr(1);
  } else {
    const size_t colon = authority.find(':');
    result.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (result.host.empty()) {
    error = "missing host";
    return std::nullopt;
  }
  if (port.empty()) {
    result.port = result.tls ? "443" : "80";
  } else {
    if (port.size() > 5 ||
        !std::all_of(port.begin(), port.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }) ||
        std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
      error = "bad port '" + std::string(port) + "'";
      return std::nullopt;
    }
    result.port = std::string(port);
  }
  return result;
}

}  // namespace segflow

#include "connectors/webhook/http_client.h"

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>
#include <system_error>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

namespace segflow {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

struct HttpClient::Impl {
  HttpClientOptions options;
  asio::io_context io;
  ssl::context tls{ssl::context::tls_client};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  std::string retry_after;  // of the last response

  explicit Impl(HttpClientOptions o) : options(std::move(o)) {
    request.method(http::verb::post);
    request.target(options.url.target);
    request.version(11);
    const bool default_port = options.url.port == (options.url.tls ? "443" : "80");
    request.set(http::field::host,
                default_port ? options.url.host : options.url.host + ":" + options.url.port);
    request.set(http::field::user_agent, "segflow");
    request.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : options.headers) request.set(name, value);
    request.keep_alive(true);
    if (options.url.tls) {
      beast::error_code ec;
      if (options.verify_tls) {
        tls.set_verify_mode(ssl::verify_peer, ec);
        if (!ec) {
          if (options.ca_file.empty())
            tls.set_default_verify_paths(ec);
          else
            tls.load_verify_file(options.ca_file, ec);
        }
      } else {
        tls.set_verify_mode(ssl::verify_none, ec);
      }
      if (ec)
        throw std::runtime_error("webhook: TLS set-up failed" +
                                 (options.ca_file.empty() ? "" : " (" + options.ca_file + ")") +
                                 ": " + ec.message());
    }
  }

  bool connected() const { return plain.has_value() || secure.has_value(); }
  void disconnect() {
    plain.reset();
    secure.reset();
    buffer.clear();
  }
  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*secure); }

  asio::awaitable<void> connect() {
    tcp::resolver resolver(io);
    const auto endpoints =
        co_await resolver.async_resolve(options.url.host, options.url.port, asio::use_awaitable);
    if (!options.url.tls) {
      plain.emplace(io);
      plain->expires_after(std::chrono::milliseconds(options.timeout_ms));
      co_await plain->async_connect(endpoints, asio::use_awaitable);
      plain->socket().set_option(tcp::no_delay(true));
      co_return;
    }
    secure.emplace(io, tls);
    if (!SSL_set_tlsext_host_name(secure->native_handle(), options.url.host.c_str()))
      throw std::system_error(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
    if (options.verify_tls)
      secure->set_verify_callback(ssl::host_name_verification(options.url.host));
    beast::get_lowest_layer(*secure).expires_after(std::chrono::milliseconds(options.timeout_ms));
    co_await beast::get_lowest_layer(*secure).async_connect(endpoints, asio::use_awaitable);
    beast::get_lowest_layer(*secure).socket().set_option(tcp::no_delay(true));
    co_await secure->async_handshake(ssl::stream_base::client, asio::use_awaitable);
  }

  template <class Stream>
  asio::awaitable<int> exchange(Stream& stream) {
    co_await http::async_write(stream, request, asio::use_awaitable);
    http::response<http::string_body> response;
    co_await http::async_read(stream, buffer, response, asio::use_awaitable);
    retry_after = std::string(response[http::field::retry_after]);
    if (!response.keep_alive()) disconnect();
    co_return response.result_int();
  }

  // One attempt: connects if needed, sends `request`, reads the response.
  asio::awaitable<int> send() {
    if (!connected()) co_await connect();
    lowest().expires_after(std::chrono::milliseconds(options.timeout_ms));
    if (plain) co_return co_await exchange(*plain);
    co_return co_await exchange(*secure);
  }

  // One attempt; `closed_by_peer` says whether it failed because the server had closed the
  // connection (end of stream, reset, broken pipe).
  HttpResult attempt(bool& closed_by_peer) {
    closed_by_peer = false;
    retry_after.clear();
    HttpResult result;
    std::exception_ptr failure;
    asio::co_spawn(io, send(), [&](std::exception_ptr e, int status) {
      failure = e;
      result.status = e ? 0 : status;
    });
    io.restart();
    io.run();
    result.retry_after = retry_after;
    if (failure) {
      disconnect();
      try {
        std::rethrow_exception(failure);
      } catch (const boost::system::system_error& e) {
        result.error = e.code().message();
        closed_by_peer = e.code() == http::error::end_of_stream || e.code() == asio::error::eof ||
                         e.code() == asio::error::connection_reset ||
                         e.code() == asio::error::broken_pipe;
      } catch (const std::exception& e) {
        result.error = e.what();
      }
    }
    return result;
  }
};

HttpClient::HttpClient(HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpClient::~HttpClient() = default;

HttpResult HttpClient::post(std::string_view body) {
  impl_->request.body().assign(body);
  impl_->request.prepare_payload();
  const bool reused = impl_->connected();
  bool closed_by_peer = false;
  HttpResult result = impl_->attempt(closed_by_peer);
  // A kept-alive connection the server closed while idle: once more on a fresh one.
  if (reused && closed_by_peer) result = impl_->attempt(closed_by_peer);
  return result;
}

}  // namespace segflow

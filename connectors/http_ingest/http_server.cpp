#include "connectors/http_ingest/http_server.h"

#include <atomic>
#include <chrono>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "engine/json_text.h"

namespace segflow {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;
constexpr auto kWriteTimeout = std::chrono::seconds(30);

bool is_http_parse_error(const beast::error_code& ec) {
  return ec.category() == make_error_code(http::error::bad_target).category();
}

}  // namespace

std::string json_error_body(std::string_view reason) {
  std::string body = R"({"success":false,"error":)";
  append_json_string(body, reason);
  body += '}';
  return body;
}

struct HttpServer::Impl {
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;

  Options options;
  Handler handler;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<WorkGuard> guards;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::atomic<size_t> unanswered{0};  // requests handed to the handler, reply not yet written
  size_t next_thread = 0;             // used on the acceptor's thread only
  uint16_t port = 0;
  bool running = false;

  void accept();
};

namespace {

// One TCP connection: reads requests one after another, hands each to the handler, writes
// its reply, and reads the next while the connection is kept alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl& server, size_t thread)
      : stream_(std::move(socket)), server_(server), thread_(thread) {}

  void read() {
    parser_.emplace();
    parser_->body_limit(server_.options.max_body_bytes);
    parser_->header_limit(kHeaderLimit);
    stream_.expires_after(std::chrono::milliseconds(server_.options.idle_timeout_ms));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

 private:
  // Headers read: answer "Expect: 100-continue" (curl sends it for larger bodies), then
  // read the body.
  void on_header(beast::error_code ec, size_t bytes) {
    if (ec) return on_read(ec, bytes);
    if (!beast::iequals(parser_->get()[http::field::expect], "100-continue")) return read_body();
    auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
    http::async_write(stream_, *interim,
                      [self = shared_from_this(), interim](beast::error_code write_ec, size_t) {
                        if (write_ec) return self->close();
                        self->read_body();
                      });
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, size_t /*bytes*/) {
    if (ec == http::error::body_limit) {
      write(HttpReply{413, json_error_body("request body too large"), 0}, false, false);
      return;
    }
    if (ec && is_http_parse_error(ec) && ec != http::error::end_of_stream &&
        ec != http::error::partial_message) {
      write(HttpReply{400, json_error_body("malformed http request"), 0}, false, false);
      return;
    }
    if (ec) return close();
    stream_.expires_never();  // the reply may wait for the pipeline
    auto& message = parser_->get();
    const bool keep_alive = message.keep_alive();
    HttpRequest request{std::string(message.method_string()), std::string(message.target()),
                        std::string(message[http::field::authorization]),
                        std::string(message[http::field::content_encoding]),
                        std::move(message.body())};
    server_.unanswered.fetch_add(1, std::memory_order_relaxed);
    auto self = shared_from_this();
    server_.handler(request, thread_, [self, keep_alive](HttpReply reply) {
      auto executor = self->stream_.get_executor();
      asio::post(executor, [self, keep_alive, reply = std::move(reply)]() mutable {
        self->write(std::move(reply), keep_alive, true);
      });
    });
  }

  void write(HttpReply reply, bool keep_alive, bool counted) {
    response_ = {};
    response_.version(11);
    response_.result(static_cast<unsigned>(reply.status));
    response_.set(http::field::server, "segflow");
    response_.set(http::field::content_type, "application/json");
    if (reply.retry_after_s > 0)
      response_.set(http::field::retry_after, std::to_string(reply.retry_after_s));
    response_.keep_alive(keep_alive);
    response_.body() = std::move(reply.body);
    response_.prepare_payload();
    stream_.expires_after(kWriteTimeout);
    http::async_write(
        stream_, response_,
        [self = shared_from_this(), keep_alive, counted](beast::error_code ec, size_t /*bytes*/) {
          if (counted) self->server_.unanswered.fetch_sub(1, std::memory_order_relaxed);
          if (ec || !keep_alive) return self->close();
          self->read();
        });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  HttpServer::Impl& server_;
  const size_t thread_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

void HttpServer::Impl::accept() {
  const size_t thread = next_thread;
  next_thread = (next_thread + 1) % contexts.size();
  acceptor->async_accept(
      *contexts[thread], [this, thread](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
        if (!ec) {
          auto session = std::make_shared<Session>(std::move(socket), *this, thread);
          asio::post(*contexts[thread], [session] { session->read(); });
        }
        accept();
      });
}

HttpServer::HttpServer(Options options, Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { stop(0); }

void HttpServer::start() {
  Impl& s = *impl_;
  const size_t n = std::max<size_t>(1, s.options.threads);
  for (size_t i = 0; i < n; ++i) {
    s.contexts.push_back(std::make_unique<asio::io_context>(1));
    s.guards.push_back(asio::make_work_guard(*s.contexts.back()));
  }
  try {
    const tcp::endpoint endpoint(asio::ip::make_address(s.options.address), s.options.port);
    s.acceptor.emplace(*s.contexts[0]);
    s.acceptor->open(endpoint.protocol());
    s.acceptor->set_option(asio::socket_base::reuse_address(true));
    s.acceptor->bind(endpoint);
    s.acceptor->listen(asio::socket_base::max_listen_connections);
    s.port = s.acceptor->local_endpoint().port();
  } catch (const boost::system::system_error& e) {
    s.acceptor.reset();
    s.guards.clear();
    s.contexts.clear();
    throw std::runtime_error("cannot listen on " + s.options.address + ":" +
                             std::to_string(s.options.port) + ": " + e.code().message());
  }
  s.accept();
  for (size_t i = 0; i < n; ++i) {
    s.threads.emplace_back([context = s.contexts[i].get()] {
      for (;;) {
        try {
          context->run();
          return;
        } catch (const std::exception& e) {
          std::cerr << "segflow: http_ingest: request handler failed: " << e.what() << '\n';
        }
      }
    });
  }
  s.running = true;
}

uint16_t HttpServer::port() const { return impl_->port; }

void HttpServer::stop(int64_t grace_ms) {
  Impl& s = *impl_;
  if (!s.running) return;
  s.running = false;
  asio::post(*s.contexts[0], [&s] {
    beast::error_code ignored;
    s.acceptor->close(ignored);
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (s.unanswered.load(std::memory_order_relaxed) > 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  s.guards.clear();
  for (auto& context : s.contexts) context->stop();
  for (std::thread& t : s.threads) t.join();
  s.threads.clear();
  s.acceptor.reset();
  s.contexts.clear();  // destroys the connections still open
}

}  // namespace segflow

// segflow_http_load: a load generator for the http_ingest source. Each connection is one
// thread sending keep-alive POST /v1/batch requests of `--batch` track events (Boost.Beast's
// synchronous client) for `--seconds`; prints the events accepted (HTTP 200) per second and
// the count of 503 answers (backpressure). Used by bench/http_ingest.sh.
//   segflow_http_load --port P [--connections 4] [--seconds 10] [--batch 100]
//                     [--write-key bench-key] [--users 100000]
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct Options {
  int port = 0;
  int connections = 4;
  double seconds = 10;
  int batch = 100;
  std::string write_key = "bench-key";
  int users = 100000;
};

struct Totals {
  std::atomic<uint64_t> events{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> busy{0};
  std::atomic<uint64_t> errors{0};
};

std::string basic_auth(const std::string& user) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":";
  std::string out = "Basic ";
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

// A /v1/batch body: `batch` Product Viewed / Product Added events of many users, stamped
// with the wall clock (events as they happen).
std::string batch_body(const Options& o, uint64_t& sequence) {
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::string body = R"({"batch":[)";
  for (int i = 0; i < o.batch; ++i, ++sequence) {
    if (i > 0) body += ',';
    body += R"({"type":"track","userId":"user-)";
    body += std::to_string(sequence * 7919 % static_cast<uint64_t>(o.users));
    body += R"(","event":")";
    body += sequence % 5 == 0 ? "Product Added" : "Product Viewed";
    body += R"(","properties":{"product_id":"p-)";
    body += std::to_string(sequence % 997);
    body += R"(","price":19.99,"currency":"USD"},"context":{"ip":"10.0.0.1"},"timestamp":)";
    body += std::to_string(now_ms);
    body += '}';
  }
  body += "]}";
  return body;
}

void run_connection(const Options& o, int index, std::chrono::steady_clock::time_point end,
                    Totals& totals) {
  uint64_t sequence = static_cast<uint64_t>(index) << 40;
  const std::string auth = basic_auth(o.write_key);
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                           static_cast<uint16_t>(o.port)));
    beast::flat_buffer buffer;
    while (std::chrono::steady_clock::now() < end) {
      http::request<http::string_body> req(http::verb::post, "/v1/batch", 11);
      req.set(http::field::host, "127.0.0.1");
      req.set(http::field::authorization, auth);
      req.set(http::field::content_type, "application/json");
      const uint64_t before = sequence;
      req.body() = batch_body(o, sequence);
      req.prepare_payload();
      http::write(stream, req);
      http::response<http::string_body> res;
      http::read(stream, buffer, res);
      totals.requests.fetch_add(1, std::memory_order_relaxed);
      if (res.result_int() == 200) {
        totals.events.fetch_add(static_cast<uint64_t>(o.batch), std::memory_order_relaxed);
      } else if (res.result_int() == 503) {
        totals.busy.fetch_add(1, std::memory_order_relaxed);
        sequence = before;  // send the same events again
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      } else {
        totals.errors.fetch_add(1, std::memory_order_relaxed);
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "connection " << index << ": " << e.what() << '\n';
    totals.errors.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--port")
      o.port = std::stoi(value);
    else if (flag == "--connections")
      o.connections = std::stoi(value);
    else if (flag == "--seconds")
      o.seconds = std::stod(value);
    else if (flag == "--batch")
      o.batch = std::stoi(value);
    else if (flag == "--write-key")
      o.write_key = value;
    else if (flag == "--users")
      o.users = std::stoi(value);
    else {
      std::cerr << "unknown option " << flag << '\n';
      return 2;
    }
  }
  if (o.port <= 0 || o.connections <= 0 || o.batch <= 0 || o.seconds <= 0 || o.users <= 0) {
    std::cerr << "usage: segflow_http_load --port P [--connections N] [--seconds S] "
                 "[--batch B] [--write-key K] [--users U]\n";
    return 2;
  }
  Totals totals;
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(o.seconds));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.connections; ++i)
    threads.emplace_back([&, i] { run_connection(o, i, end, totals); });
  for (std::thread& t : threads) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "%llu events in %.2f s = %.0f events/s (%llu requests, %llu answered 503, %llu "
      "errors)\n",
      static_cast<unsigned long long>(totals.events.load()), secs,
      static_cast<double>(totals.events.load()) / secs,
      static_cast<unsigned long long>(totals.requests.load()),
      static_cast<unsigned long long>(totals.busy.load()),
      static_cast<unsigned long long>(totals.errors.load()));
  return totals.errors.load() == 0 ? 0 : 1;
}

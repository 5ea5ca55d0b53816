// The http_ingest source over real HTTP on loopback: a Boost.Beast client in the test sends
// what Segment's HTTP Tracking API accepts and what it rejects; a poller thread plays the
// subtask that polls the source.
#include "connectors/http_ingest/http_ingest_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "connectors/json/record_json.h"
#include "engine/registry.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using ::testing::HasSubstr;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using segflow::testing::json_field;

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
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

std::string gzip(const std::string& text) {
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, text.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

struct Response {
  int status = 0;
  std::string body;
  std::string retry_after;
};

struct Request {
  Request(std::string target_, std::string body_)
      : target(std::move(target_)), body(std::move(body_)) {}
  std::string target;
  std::string body;
  std::string write_key = "wk1";  // "" sends no Authorization header
  std::string method = "POST";
  std::string content_encoding;
  std::string authorization;  // overrides the Basic header built from write_key
  std::string content_type = "application/json";
};

// One HTTP/1.1 exchange on a fresh connection (Boost.Beast's synchronous client).
Response send(uint16_t port, const Request& r) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req(http::string_to_verb(r.method), r.target, 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, r.content_type);
  if (!r.authorization.empty())
    req.set(http::field::authorization, r.authorization);
  else if (!r.write_key.empty())
    req.set(http::field::authorization, "Basic " + base64(r.write_key + ":"));
  if (!r.content_encoding.empty()) req.set(http::field::content_encoding, r.content_encoding);
  req.body() = r.body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  return {static_cast<int>(res.result_int()), res.body(),
          std::string(res[http::field::retry_after])};
}

HttpIngestSource::Config parse_config(const std::string& yaml) {
  const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("job.yaml"),
                        "sources[0]");
  HttpIngestSource::Config config = HttpIngestSource::Config::parse(node);
  node.finish();
  return config;
}

constexpr const char* kTrack =
    R"({"userId":"u1","event":"Product Viewed","timestamp":"2024-05-01T12:00:00Z",)"
    R"("properties":{"price":12.5}})";

// A started source on an ephemeral port, its dead-letter output, and (unless told not to)
// a thread polling it as the subtask would, collecting every record as a JSON line.
class HttpIngestTest : public ::testing::Test {
 protected:
  void start(const std::string& extra_config = "", bool poll = true) {
    source_ = std::make_unique<HttpIngestSource>(
        parse_config("port: 0\nwrite_keys: [wk1, wk2]\n" + extra_config));
    ctx_.operator_id = "ingest";
    ctx_.dead_letters = &dead_letters_;
    ctx_.clock = &clock_;
    source_->open(ctx_);
    port_ = source_->port();
    ASSERT_NE(port_, 0);
    if (poll) poller_ = std::thread([this] { run_poller(); });
  }

  void TearDown() override {
    stop_.store(true);
    if (poller_.joinable()) poller_.join();
    if (source_) source_->close();
  }

  void run_poller() {
    Output out(
        [this](BatchPtr& batch) {
          std::lock_guard lock(mutex_);
          for (const Record& r : batch->records()) {
            std::string line;
            append_record_json(line, *batch, r);
            lines_.push_back(std::move(line));
          }
          arrived_.notify_all();
        },
        256);
    while (!stop_.load()) {
      if (source_->poll(out) == SourceStatus::kIdle)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      out.flush();
    }
  }

  // The records emitted so far (a 200 reply means they are already here).
  std::vector<std::string> lines() {
    std::lock_guard lock(mutex_);
    return lines_;
  }

  Response post(const std::string& target, const std::string& body) {
    return send(port_, Request{target, body});
  }

  ManualClock clock_{1'714'564'800'000};  // 2024-05-01T12:00:00Z
  DeadLetterOutput dead_letters_;
  OperatorContext ctx_;
  std::unique_ptr<HttpIngestSource> source_;
  uint16_t port_ = 0;
  std::thread poller_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<std::string> lines_;
};

TEST(HttpIngestRegistrationTest, IsASource) {
  const RegisteredType* t = Registry::global().find("http_ingest");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->is_source);
}

TEST(HttpIngestConfigTest, RejectsBadSettingsWithTheirPlace) {
  EXPECT_THROW(parse_config("port: 0\n"), SpecError);
  EXPECT_THROW(parse_config("write_keys: []\n"), SpecError);
  EXPECT_THROW(parse_config("write_keys: [k]\nport: 70000\n"), SpecError);
  EXPECT_THROW(parse_config("write_keys: [k]\nretry_after: 10ms\n"), SpecError);
  EXPECT_THROW(parse_config("write_keys: [k]\nmax_queued: 5\n"), SpecError);  // a typo
  const std::string message = testing::spec_error_of([] { parse_config("port: 1\n"); });
  EXPECT_THAT(message, HasSubstr("job.yaml:1:1"));
  EXPECT_THAT(message, HasSubstr("write_keys"));
  const auto c = parse_config("write_keys: k\nport: 9000\nmax_queued_events: 7\n");
  EXPECT_EQ(c.write_keys, std::vector<std::string>{"k"});
  EXPECT_EQ(c.port, 9000);
  EXPECT_EQ(c.max_queued_events, 7u);
}

TEST_F(HttpIngestTest, EveryEndpointAcceptsItsCall) {
  start();
  const std::string ts = R"("timestamp":"2024-05-01T12:00:00Z")";
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"/v1/track", kTrack},
      {"/v1/identify", R"({"userId":"u2","traits":{"email":"a@b.c"},)" + ts + "}"},
      {"/v1/page", R"({"anonymousId":"a3","name":"Home",)" + ts + "}"},
      {"/v1/screen", R"({"userId":"u4","name":"Cart",)" + ts + "}"},
      {"/v1/group", R"({"userId":"u5","groupId":"g1",)" + ts + "}"},
      {"/v1/alias", R"({"userId":"u6","previousId":"a6",)" + ts + "}"},
      {"/v1/batch", R"({"batch":[{"type":"track","userId":"u7","event":"Order Completed",)" + ts +
                        R"(},{"type":"identify","userId":"u8",)" + ts + "}]}"},
      {"/v1/import", R"({"batch":[{"type":"page","userId":"u9",)" + ts + "}]}"},
  };
  for (const auto& [target, body] : calls) {
    const Response r = post(target, body);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
    EXPECT_EQ(r.body, R"({"success":true})") << target;
  }
  const std::vector<std::string> got = lines();
  ASSERT_EQ(got.size(), 9u);  // in the order sent; a batch's events in batch order
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"track", "u1"}, {"identify", "u2"}, {"page", "a3"},     {"screen", "u4"}, {"group", "u5"},
      {"alias", "u6"}, {"track", "u7"},    {"identify", "u8"}, {"page", "u9"},
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(json_field(got[i], "type"), expected[i].first) << got[i];
    EXPECT_EQ(json_field(got[i], "profile"), expected[i].second) << got[i];
    EXPECT_EQ(json_field(got[i], "timestamp"), "2024-05-01T12:00:00.000Z") << got[i];
  }
  EXPECT_EQ(json_field(got[0], "event"), "Product Viewed");
  EXPECT_EQ(json_field(got[0], "properties.price"), "12.5");
  EXPECT_EQ(json_field(got[6], "event"), "Order Completed");
  EXPECT_EQ(source_->stats().requests_accepted.load(), 8u);
  EXPECT_EQ(dead_letters_.total(), 0u);
}

// analytics.js (analytics-next) posts each call to /v1/<first letter of its type>, or a
// batch to /v1/b, as text/plain (no CORS preflight) with the write key in the body.
TEST_F(HttpIngestTest, AcceptsTheShortPathsOfAnalyticsJs) {
  start();
  const std::string ts = R"("timestamp":"2024-05-01T12:00:00Z","writeKey":"wk1")";
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"/v1/t", R"({"userId":"u1","event":"Product Viewed",)" + ts + "}"},
      {"/v1/i", R"({"userId":"u2",)" + ts + "}"},
      {"/v1/p", R"({"anonymousId":"a3",)" + ts + "}"},
      {"/v1/s", R"({"userId":"u4","name":"Cart",)" + ts + "}"},
      {"/v1/g", R"({"userId":"u5","groupId":"g1",)" + ts + "}"},
      {"/v1/a", R"({"userId":"u6","previousId":"a6",)" + ts + "}"},
      {"/v1/b", R"({"writeKey":"wk1","batch":[{"type":"track","userId":"u7","event":"E",)"
                R"("timestamp":"2024-05-01T12:00:00Z"}]})"},
  };
  for (const auto& [target, body] : calls) {
    Request r{target, body};
    r.write_key = "";
    r.content_type = "text/plain";
    const Response res = send(port_, r);
    EXPECT_EQ(res.status, 200) << target << ": " << res.body;
  }
  const std::vector<std::string> got = lines();
  ASSERT_EQ(got.size(), 7u);
  const std::vector<std::string> types = {"track", "identify", "page", "screen",
                                          "group", "alias",    "track"};
  for (size_t i = 0; i < types.size(); ++i) EXPECT_EQ(json_field(got[i], "type"), types[i]);
}

TEST_F(HttpIngestTest, WriteKeyIsRequired) {
  start();
  Request r{"/v1/track", kTrack};
  r.write_key = "";
  Response res = send(port_, r);
  EXPECT_EQ(res.status, 401);
  EXPECT_EQ(json_field(res.body, "success"), "false");
  EXPECT_EQ(json_field(res.body, "error"), "missing or unknown write key");
  r.write_key = "not-a-key";
  EXPECT_EQ(send(port_, r).status, 401);
  r.write_key = "";
  r.authorization = "Bearer wk1";
  EXPECT_EQ(send(port_, r).status, 401);
  // The header wins over the body's writeKey, and either one alone is enough.
  r.authorization = "";
  r.write_key = "wk2";
  EXPECT_EQ(send(port_, r).status, 200);
  r.write_key = "";
  r.body = R"({"writeKey":"wk1","userId":"u1","event":"E","timestamp":1})";
  EXPECT_EQ(send(port_, r).status, 200);
  r.write_key = "bad";
  EXPECT_EQ(send(port_, r).status, 401);
  EXPECT_EQ(lines().size(), 2u);
  EXPECT_EQ(source_->stats().requests_rejected.load(), 4u);
  // Exported by endpoint and status (connectors/http_ingest/ingest_metrics.h).
  const MetricRegistry& metrics = *ctx_.metric_registry;
  const auto requests = [&](const char* status) {
    return testing::metric_value(metrics, "segflow_http_ingest_requests_total",
                                 {{"endpoint", "track"}, {"status", status}});
  };
  EXPECT_EQ(requests("401"), 4);
  EXPECT_EQ(requests("200"), 2);
  EXPECT_GT(testing::metric_value(metrics, "segflow_http_ingest_request_bytes_total",
                                  {{"endpoint", "track"}}),
            0);
}

TEST_F(HttpIngestTest, BadRequestsGetAReason) {
  start("max_event_bytes: 200\n");
  const auto expect_error = [&](const Request& r, int status, const std::string& reason) {
    const Response res = send(port_, r);
    EXPECT_EQ(res.status, status) << r.target << " " << r.body;
    EXPECT_EQ(json_field(res.body, "error"), reason) << res.body;
  };
  expect_error({"/v1/track", R"({"userId":"u1","event":)"}, 400, "malformed json");
  expect_error({"/v1/track", R"(["x"])"}, 400, "body is not a JSON object");
  expect_error({"/v1/track", R"({"userId":"u1","timestamp":1})"}, 400, "missing event");
  expect_error({"/v1/identify", R"({"traits":{},"timestamp":1})"}, 400,
               "missing userId and anonymousId");
  expect_error({"/v1/track", R"({"userId":"u1","event":"E","timestamp":"yesterday"})"}, 400,
               "bad timestamp");
  expect_error({"/v1/track", R"({"userId":"u1","event":")" + std::string(300, 'x') + "\"}"}, 400,
               "event too large");
  expect_error({"/v1/batch", R"({"batch":{"type":"track"}})"}, 400, "batch is not an array");
  expect_error({"/v1/batch", R"({"sentAt":"2024-05-01T12:00:00Z"})"}, 400, "missing batch");
  expect_error({"/v1/tracking", kTrack}, 404, "unknown path /v1/tracking");
  Request get{"/v1/track", ""};
  get.method = "GET";
  expect_error(get, 405, "use POST");
  Request brotli{"/v1/track", kTrack};
  brotli.content_encoding = "br";
  expect_error(brotli, 415, "unsupported content encoding br");
  EXPECT_TRUE(lines().empty());
  EXPECT_EQ(dead_letters_.total(), 0u);  // rejected to the sender, not dead-lettered
}

TEST_F(HttpIngestTest, BodiesOverTheLimitAre413) {
  start("max_body_bytes: 2048\n");
  std::string big = R"({"userId":"u1","event":"E","timestamp":1,"properties":{"pad":")";
  big += std::string(3000, 'p') + "\"}}";
  const Response res = post("/v1/track", big);
  EXPECT_EQ(res.status, 413);
  EXPECT_EQ(json_field(res.body, "error"), "request body too large");
  // Small when compressed, too large once inflated: refused as well.
  Request bomb{"/v1/track", gzip(big)};
  bomb.content_encoding = "gzip";
  ASSERT_LT(bomb.body.size(), 2048u);
  EXPECT_EQ(send(port_, bomb).status, 413);
  EXPECT_EQ(post("/v1/track", kTrack).status, 200);  // the server is still there
}

TEST_F(HttpIngestTest, GzipBodiesAreInflated) {
  start();
  Request r{"/v1/batch",
            gzip(R"({"batch":[)" + std::string(kTrack).insert(1, R"("type":"track",)") + "]}")};
  r.content_encoding = "gzip";
  const Response res = send(port_, r);
  EXPECT_EQ(res.status, 200) << res.body;
  ASSERT_EQ(lines().size(), 1u);
  EXPECT_EQ(json_field(lines()[0], "event"), "Product Viewed");
  r.body = r.body.substr(0, r.body.size() / 2);
  const Response truncated = send(port_, r);
  EXPECT_EQ(truncated.status, 400);
  EXPECT_EQ(json_field(truncated.body, "error"), "malformed gzip body");
}

TEST_F(HttpIngestTest, BadEventsInABatchGoToTheDeadLetterOutput) {
  start();
  const Response res = post("/v1/batch", R"({"batch":[
      {"type":"track","userId":"u1","event":"A","timestamp":1000},
      {"type":"track","userId":"u1","timestamp":1000},
      {"type":"track","userId":"u2","event":"B","timestamp":2000},
      {"type":"bogus","userId":"u1","timestamp":1000},
      {"type":"identify","timestamp":1000}]})");
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, R"({"success":true})");
  const auto got = lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(json_field(got[0], "event"), "A");
  EXPECT_EQ(json_field(got[1], "event"), "B");
  EXPECT_EQ(dead_letters_.total(), 3u);
  EXPECT_EQ(dead_letters_.count("missing event"), 1u);
  EXPECT_EQ(dead_letters_.count("unknown type"), 1u);
  EXPECT_EQ(dead_letters_.count("missing userId and anonymousId"), 1u);
  EXPECT_EQ(source_->stats().events_dead_lettered.load(), 3u);
  EXPECT_EQ(dead_letters_.counts_by_operator().count({"ingest", "missing event"}), 1u);
}

TEST_F(HttpIngestTest, EventTimeFallsBackToReceivedAt) {
  start();
  ASSERT_EQ(post("/v1/track", R"({"userId":"u1","event":"A"})").status, 200);
  clock_.set(1'714'564'860'000);  // 12:01:00
  ASSERT_EQ(post("/v1/batch",
                 R"({"sentAt":"2024-05-01T12:30:00Z","batch":[{"type":"track",)"
                 R"("userId":"u1","event":"B","originalTimestamp":"2024-05-01T12:29:00Z"}]})")
                .status,
            200);
  const auto got = lines();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(json_field(got[0], "timestamp"), "2024-05-01T12:00:00.000Z");
  EXPECT_EQ(json_field(got[1], "timestamp"), "2024-05-01T12:00:00.000Z");  // 12:01 - 1 min
}

// No poller: the queue (2 events) fills, and a further request is answered 503 with
// Retry-After at once; the queued one is answered 200 when the source is polled.
TEST_F(HttpIngestTest, FullQueueAnswers503WithRetryAfter) {
  start("max_queued_events: 2\nretry_after: 3s\n", /*poll=*/false);
  const std::string two = R"({"batch":[{"type":"track","userId":"u1","event":"A","timestamp":1},)"
                          R"({"type":"track","userId":"u2","event":"B","timestamp":2}]})";
  auto first = std::async(std::launch::async, [&] { return post("/v1/batch", two); });
  while (source_->queued_events() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const Response busy = post("/v1/track", kTrack);
  EXPECT_EQ(busy.status, 503);
  EXPECT_EQ(busy.retry_after, "3");
  EXPECT_EQ(json_field(busy.body, "error"), "pipeline busy, retry later");
  EXPECT_EQ(first.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  std::vector<std::string> emitted;
  Output out(
      [&](BatchPtr& b) {
        for (const Record& r : b->records()) {
          std::string line;
          append_record_json(line, *b, r);
          emitted.push_back(line);
        }
      },
      256);
  EXPECT_EQ(source_->poll(out), SourceStatus::kMore);
  EXPECT_EQ(first.get().status, 200);
  EXPECT_EQ(emitted.size(), 2u);
  EXPECT_EQ(source_->poll(out), SourceStatus::kIdle);
  EXPECT_EQ(source_->stats().requests_busy.load(), 1u);
}

// Stopping the job: what is queued but not yet emitted is answered 503 (the client sends it
// again), never 200, so a 200 is never lost.
TEST_F(HttpIngestTest, CloseAnswersQueuedRequests503) {
  start("", /*poll=*/false);
  auto pending = std::async(std::launch::async, [&] { return post("/v1/track", kTrack); });
  while (source_->queued_events() < 1) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  source_->close();
  const Response r = pending.get();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.retry_after, "1");
  EXPECT_EQ(source_->port(), 0);
}

TEST_F(HttpIngestTest, KeepAliveConnectionCarriesManyRequests) {
  start();
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  beast::flat_buffer buffer;
  for (int i = 0; i < 3; ++i) {
    http::request<http::string_body> req(http::verb::post, "/v1/track", 11);
    req.set(http::field::authorization, "Basic " + base64("wk1:"));
    req.body() = kTrack;
    req.prepare_payload();
    http::write(stream, req);
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    EXPECT_EQ(res.result_int(), 200u);
    EXPECT_TRUE(res.keep_alive());
  }
  EXPECT_EQ(lines().size(), 3u);
}

// curl sends "Expect: 100-continue" before a large body and waits for the interim answer.
TEST_F(HttpIngestTest, AnswersExpect100Continue) {
  start();
  asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_));
  http::request<http::string_body> req(http::verb::post, "/v1/track", 11);
  req.set(http::field::authorization, "Basic " + base64("wk1:"));
  req.set(http::field::expect, "100-continue");
  req.body() = kTrack;
  req.prepare_payload();
  http::request_serializer<http::string_body> serializer(req);
  http::write_header(stream, serializer);
  beast::flat_buffer buffer;
  http::response<http::empty_body> interim;
  http::read(stream, buffer, interim);
  EXPECT_EQ(interim.result(), http::status::continue_);
  http::write(stream, serializer);
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  EXPECT_EQ(res.result_int(), 200u);
  EXPECT_EQ(lines().size(), 1u);
}

TEST(HttpIngestListenTest, RefusesParallelismAboveOne) {
  HttpIngestSource source(parse_config("port: 0\nwrite_keys: [k]\n"));
  OperatorContext ctx;
  ctx.operator_id = "events";
  ctx.parallelism = 2;
  EXPECT_THROW(source.open(ctx), std::runtime_error);
}

TEST(HttpIngestListenTest, PortInUseFailsOpenWithTheAddress) {
  HttpIngestSource first(parse_config("port: 0\nwrite_keys: [k]\n"));
  OperatorContext ctx;
  ctx.operator_id = "a";
  first.open(ctx);
  HttpIngestSource second(
      parse_config("port: " + std::to_string(first.port()) + "\nwrite_keys: [k]\n"));
  OperatorContext ctx2;
  ctx2.operator_id = "b";
  try {
    second.open(ctx2);
    FAIL() << "bound a port in use";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("b: cannot listen on 127.0.0.1:"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace segflow

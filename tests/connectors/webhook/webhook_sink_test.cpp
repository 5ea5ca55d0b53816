// The webhook sink against a local HTTP server started by the test: webhook_test_server.py
// (tests/support/webhook_test_server.h), a test double of a webhook receiver (python3's
// http.server) that fails requests as its plan says and logs every request. Skipped when segflow
// was built without the webhook sink (OpenSSL missing) or python3 is missing.
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "engine/dead_letter.h"
#include "engine/registry.h"
#include "tests/support/test_support.h"
#include "tests/support/webhook_test_server.h"

namespace segflow {
namespace {

using ::testing::HasSubstr;
using testing::Request;
using testing::WebhookTestServer;

class WebhookSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Registry::global().find("webhook") == nullptr)
      SEGFLOW_SKIP_WITHOUT("segflow was built without the webhook sink (OpenSSL missing)");
    if (std::system("command -v python3 >/dev/null 2>&1") != 0)
      SEGFLOW_SKIP_WITHOUT("python3 not installed");
  }

  std::unique_ptr<Operator> make_sink(const std::string& yaml) {
    const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("test.yaml"), "");
    std::unique_ptr<Operator> sink = Registry::global().find("webhook")->parse_operator(node)();
    node.finish();
    ctx_.operator_id = "hooks";
    ctx_.dead_letters = &dead_letters_;
    sink->open(ctx_);
    return sink;
  }

  // Sends `count` segment changes (profiles user-<first>...) in batches of 64.
  static void send(Operator& sink, int first, int count) {
    Output out([](BatchPtr&) { FAIL() << "a sink emits nothing"; }, 16);
    for (int i = first; i < first + count;) {
      BatchPtr batch = BatchPool::acquire();
      for (; i < first + count && batch->size() < 64; ++i)
        batch
            ->add(EventKind::kDerived, "user-" + std::to_string(i), 1'704'067'200'000 + i,
                  intern("entered"))
            .set("segment", Value::string("high_intent"))
            .set("count", Value::integer(4));
      sink.process(*batch, out);
    }
  }

  static std::string expected_record(int i) {
    return "user-" + std::to_string(i) + "@2024-01-01T00:00:00." +
           (i < 10    ? "00"
            : i < 100 ? "0"
                      : "") +
           std::to_string(i) + "Z";
  }

  static void close(Operator& sink) {
    Output out([](BatchPtr&) {}, 16);
    sink.close(out);
  }

  OperatorContext ctx_;
  DeadLetterOutput dead_letters_;
};

// How often each record arrived in requests the server answered with `action`.
std::map<std::string, int> deliveries(const std::vector<Request>& requests,
                                      const std::string& action = "ok") {
  std::map<std::string, int> count;
  for (const Request& r : requests)
    if (r.action == action)
      for (const std::string& record : r.records) ++count[record];
  return count;
}

TEST_F(WebhookSinkTest, EveryChangeArrivesExactlyOnceWithTheHeadersOverOneConnection) {
  WebhookTestServer server({});
  auto sink = make_sink("url: http://127.0.0.1:" + std::to_string(server.port()) +
                        "/hooks/segments?source=segflow\n"
                        "headers: {Authorization: Bearer test-token, X-Segflow-Job: test}\n"
                        "max_records: 50\nmax_delay: 20ms\n");
  send(*sink, 0, 1000);
  close(*sink);
  const std::vector<Request> requests = server.requests();
  std::map<std::string, int> expected;
  for (int i = 0; i < 1000; ++i) expected[expected_record(i)] = 1;
  EXPECT_EQ(deliveries(requests), expected);
  std::set<int64_t> connections;
  for (const Request& r : requests) {
    EXPECT_LE(r.records.size(), 50u);
    EXPECT_EQ(r.path, "/hooks/segments?source=segflow");
    EXPECT_EQ(r.headers.at("authorization"), "Bearer test-token");
    EXPECT_EQ(r.headers.at("x-segflow-job"), "test");
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    connections.insert(r.client_port);
  }
  EXPECT_EQ(connections.size(), 1u);  // kept alive
  EXPECT_EQ(dead_letters_.total(), 0u);
}

TEST_F(WebhookSinkTest, BatchesAreCappedInBytes) {
  WebhookTestServer server({});
  auto sink = make_sink("url: http://127.0.0.1:" + std::to_string(server.port()) +
                        "/\nmax_records: 1000\nmax_bytes: 1000\nmax_delay: 10ms\n");
  send(*sink, 0, 200);
  close(*sink);
  const std::vector<Request> requests = server.requests();
  EXPECT_EQ(deliveries(requests).size(), 200u);
  for (const Request& r : requests) {
    // One record is about 130 bytes of JSON: at most 7 fit in 1000 bytes with the commas.
    EXPECT_LE(r.records.size(), 7u);
    EXPECT_GE(r.records.size(), 1u);
  }
}

TEST_F(WebhookSinkTest, RetriedFailuresDeliverEveryChangeAtLeastOnce) {
  // Server errors, rate limiting, a dropped connection and an answer later than the
  // timeout, between successes.
  WebhookTestServer server({"--plan", "503,ok,drop,ok,429,ok,slow:3000,ok,500,500,ok", "--cycle"});
  auto sink = make_sink("url: http://127.0.0.1:" + std::to_string(server.port()) +
                        "/\nmax_records: 40\nmax_delay: 10ms\ntimeout: 500ms\n"
                        "max_attempts: 4\ninitial_backoff: 10ms\nmax_backoff: 50ms\n");
  send(*sink, 0, 600);
  close(*sink);
  const std::vector<Request> requests = server.requests();
  const std::map<std::string, int> delivered = deliveries(requests);
  ASSERT_EQ(delivered.size(), 600u);
  for (int i = 0; i < 600; ++i) EXPECT_GE(delivered.count(expected_record(i)), 1u) << i;
  for (const char* failure : {"503", "429", "500", "drop", "slow:3000"})
    EXPECT_FALSE(deliveries(requests, failure).empty()) << failure << " never happened";
  EXPECT_EQ(dead_letters_.total(), 0u);
}

// A 429 or 503 with Retry-After (seconds, or an HTTP-date) is retried no sooner than asked;
// a wait longer than max_backoff is cut to it (here 1 h to 2 s).
TEST_F(WebhookSinkTest, RetryAfterIsHonouredUpToMaxBackoff) {
  WebhookTestServer server({"--plan", "429+1,ok,503+date:3,ok,503+3600,ok"});
  auto sink = make_sink("url: http://127.0.0.1:" + std::to_string(server.port()) +
                        "/\nmax_records: 1\nmax_delay: 1ms\nmax_attempts: 3\n"
                        "initial_backoff: 1ms\nmax_backoff: 2s\n");
  for (int i = 0; i < 3; ++i) send(*sink, i, 1);
  close(*sink);
  const std::vector<Request> requests = server.requests();
  ASSERT_EQ(requests.size(), 6u);
  EXPECT_EQ(deliveries(requests).size(), 3u);
  EXPECT_EQ(dead_letters_.total(), 0u);
  // The retry of each failed request: no sooner than its Retry-After (the HTTP-date has
  // whole seconds, so "3 s ahead" means more than 2 s), the last one cut to max_backoff.
  EXPECT_GE(requests[1].time - requests[0].time, 1.0);
  EXPECT_GE(requests[3].time - requests[2].time, 1.99);
  EXPECT_GE(requests[5].time - requests[4].time, 2.0);
  EXPECT_LT(requests[5].time - requests[4].time, 600.0);  // not the hour asked for
}

TEST_F(WebhookSinkTest, FailuresAfterTheLastRetryAreDeadLetteredAndCounted) {
  WebhookTestServer server({"--default", "503"});
  testing::TempDir dir;
  DeadLetterOutput dead_letters(dir.file("dead.jsonl"));
  ctx_.dead_letters = &dead_letters;
  const ConfigNode node(YAML::Load("url: http://127.0.0.1:" + std::to_string(server.port()) +
                                   "/\nmax_records: 50\nmax_attempts: 3\n"
                                   "initial_backoff: 5ms\nmax_backoff: 20ms\n"),
                        std::make_shared<const std::string>("test.yaml"), "");
  auto sink = Registry::global().find("webhook")->parse_operator(node)();
  ctx_.operator_id = "hooks";
  sink->open(ctx_);
  send(*sink, 0, 120);
  close(*sink);
  dead_letters.flush();
  // Batches of 50, 50 and 20 records, three attempts each, each with the same body.
  const std::vector<Request> requests = server.requests();
  ASSERT_EQ(requests.size(), 9u);
  for (size_t i = 0; i < requests.size(); ++i)
    EXPECT_EQ(requests[i].records, requests[i / 3 * 3].records) << i;
  EXPECT_EQ(dead_letters.count("webhook retries exhausted"), 120u);
  EXPECT_EQ(dead_letters.total(), 120u);
  const std::vector<std::string> lines = testing::read_lines(dir.file("dead.jsonl"));
  ASSERT_EQ(lines.size(), 120u);
  EXPECT_THAT(lines[0], HasSubstr("\"origin\":\"hooks#0\""));
  EXPECT_THAT(lines[0], HasSubstr("user-0"));
  // Exported (connectors/retry/delivery_metrics.h): two retries per batch, every record failed.
  const MetricRegistry& metrics = *ctx_.metric_registry;
  EXPECT_EQ(testing::metric_value(metrics, "segflow_sink_retries_total"), 6);
  EXPECT_EQ(testing::metric_value(metrics, "segflow_sink_failed_total"), 120);
  EXPECT_EQ(testing::metric_value(metrics, "segflow_sink_delivered_total"), 0);
}

TEST_F(WebhookSinkTest, ARejectedBatchIsDeadLetteredWithoutRetry) {
  WebhookTestServer server({"--plan", "400"});
  auto sink = make_sink("url: http://127.0.0.1:" + std::to_string(server.port()) +
                        "/\nmax_records: 10\nmax_attempts: 5\ninitial_backoff: 5ms\n");
  send(*sink, 0, 30);
  close(*sink);
  const std::vector<Request> requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);  // the first batch rejected once, the others delivered
  EXPECT_EQ(dead_letters_.count("webhook rejected"), 10u);
  EXPECT_EQ(deliveries(requests).size(), 20u);
  const MetricRegistry& metrics = *ctx_.metric_registry;
  EXPECT_EQ(testing::metric_value(metrics, "segflow_sink_delivered_total"), 20);
  EXPECT_EQ(testing::metric_value(metrics, "segflow_sink_failed_total"), 10);
  EXPECT_EQ(testing::metric_value(metrics, "segflow_sink_retries_total"), 0);
}

TEST_F(WebhookSinkTest, APartialBatchGoesOutAfterMaxDelay) {
  WebhookTestServer server({});
  auto sink = make_sink("url: http://127.0.0.1:" + std::to_string(server.port()) +
                        "/\nmax_records: 1000\nmax_delay: 50ms\n");
  send(*sink, 0, 3);
  // Not closed: only the delay can send it. Wait (bounded) for it to arrive.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (server.requests().empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const std::vector<Request> requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].records.size(), 3u);
  close(*sink);
}

TEST_F(WebhookSinkTest, PostsOverHttpsVerifyingTheCertificate) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0)
    SEGFLOW_SKIP_WITHOUT("openssl not installed");
  testing::TempDir dir;
  testing::run_command(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost -keyout " +
      dir.file("key.pem") + " -out " + dir.file("cert.pem") + " 2>/dev/null");
  WebhookTestServer server({"--cert", dir.file("cert.pem"), "--key", dir.file("key.pem")});
  const std::string url = "url: https://localhost:" + std::to_string(server.port()) + "/tls\n";
  auto sink = make_sink(url + "ca_file: " + dir.file("cert.pem") +
                        "\nmax_records: 25\nheaders: {Authorization: Bearer tls-token}\n");
  send(*sink, 0, 100);
  close(*sink);
  std::vector<Request> requests = server.requests();
  EXPECT_EQ(deliveries(requests).size(), 100u);
  for (const auto& [record, n] : deliveries(requests)) EXPECT_EQ(n, 1) << record;
  EXPECT_EQ(requests.at(0).headers.at("authorization"), "Bearer tls-token");
  EXPECT_EQ(dead_letters_.total(), 0u);

  // Without the test CA the certificate is not trusted: nothing is sent, all dead-lettered.
  auto untrusting = make_sink(url + "max_attempts: 2\ninitial_backoff: 5ms\n");
  send(*untrusting, 100, 10);
  close(*untrusting);
  EXPECT_EQ(server.requests().size(), requests.size());
  EXPECT_EQ(dead_letters_.count("webhook retries exhausted"), 10u);
}

TEST(WebhookSinkConfig, BadSettingsFailAtLoadWithTheirPosition) {
  const RegisteredType* type = Registry::global().find("webhook");
  if (type == nullptr) SEGFLOW_SKIP_WITHOUT("segflow was built without the webhook sink");
  const auto error = [&](const std::string& yaml) -> std::string {
    const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("job.yaml"), "");
    return testing::spec_error_of([&] {
      type->parse_operator(node);
      node.finish();
    });
  };
  EXPECT_THAT(error("url: ftp://example.com/\n"), HasSubstr("job.yaml:1:6"));
  EXPECT_THAT(error("url: ftp://example.com/\n"), HasSubstr("http:// or https://"));
  EXPECT_THAT(error("url: http://example.com:99999/\n"), HasSubstr("bad port"));
  EXPECT_THAT(error("url: http://:80/\n"), HasSubstr("missing host"));
  EXPECT_THAT(error("url: http://h/\nheaders: {\"bad name\": x}\n"), HasSubstr("bad header name"));
  EXPECT_THAT(error("url: http://h/\nca_file: x.pem\n"), HasSubstr("only for https://"));
  EXPECT_THAT(error("url: http://h/\nmax_attempts: 0\n"), HasSubstr("job.yaml:2:"));
  EXPECT_THAT(error("url: http://h/\nretries: 3\n"), HasSubstr("retries"));
  EXPECT_EQ(error("url: https://h:8443/x\nheaders: {A: b}\nca_file: c.pem\n"), "no error");
}

}  // namespace
}  // namespace segflow

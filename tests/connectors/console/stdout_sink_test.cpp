#include "connectors/console/stdout_sink.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "engine/registry.h"

namespace segflow {
namespace {

ConfigNode config_node(const std::string& yaml) {
  return ConfigNode(YAML::Load(yaml), std::make_shared<const std::string>("test.yaml"), "");
}

TEST(StdoutSink, IsRegistered) {
  const RegisteredType* type = Registry::global().find("stdout");
  ASSERT_NE(type, nullptr);
  EXPECT_FALSE(type->is_source);
}

TEST(StdoutSink, WritesEachRecordAsOneJsonLine) {
  BatchPtr batch = BatchPool::acquire();
  batch->add(EventKind::kTrack, "user-1", 1714564800250, intern("Product Viewed"))
      .set("properties.price", Value::real(12.5))
      .set("properties.product_id", Value::string("sku-0042"))
      .set("properties.quantity", Value::integer(2));
  batch->add(EventKind::kIdentify, "anon \"7\"", 0, intern("identify"))
      .set("traits.email", Value::string("a@example.com"))
      .set("traits.vip", Value::boolean(true))
      .set("traits.nothing", Value::null());
  batch->add(EventKind::kPage, "u", 1, intern("page"));

  StdoutSink sink(StdoutSink::Config::parse(config_node("{}")));
  OperatorContext ctx;
  sink.open(ctx);
  Output out([](BatchPtr&) { FAIL() << "a sink emits nothing"; }, 16);
  ::testing::internal::CaptureStdout();
  sink.process(*batch, out);
  sink.close(out);
  const std::string written = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(written,
            "{\"type\":\"track\",\"event\":\"Product Viewed\",\"profile\":\"user-1\","
            "\"timestamp\":\"2024-05-01T12:00:00.250Z\",\"properties.price\":12.5,"
            "\"properties.product_id\":\"sku-0042\",\"properties.quantity\":2}\n"
            "{\"type\":\"identify\",\"event\":\"identify\",\"profile\":\"anon \\\"7\\\"\","
            "\"timestamp\":\"1970-01-01T00:00:00.000Z\",\"traits.email\":\"a@example.com\","
            "\"traits.vip\":true,\"traits.nothing\":null}\n"
            "{\"type\":\"page\",\"event\":\"page\",\"profile\":\"u\","
            "\"timestamp\":\"1970-01-01T00:00:00.001Z\"}\n");
}

TEST(StdoutSink, WritesNothingForAnEmptyBatch) {
  StdoutSink sink(StdoutSink::Config{});
  OperatorContext ctx;
  sink.open(ctx);
  Output out([](BatchPtr&) {}, 16);
  Batch empty;
  ::testing::internal::CaptureStdout();
  sink.process(empty, out);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
}

TEST(StdoutSink, HasNoKeys) {
  const ConfigNode node = config_node("path: out.jsonl\n");
  StdoutSink::Config::parse(node);
  EXPECT_THROW(node.finish(), SpecError);
}

}  // namespace
}  // namespace segflow

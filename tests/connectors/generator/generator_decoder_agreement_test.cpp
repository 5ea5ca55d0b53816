// The generator's records must be exactly what the Segment decoder makes of the equivalent
// Segment JSON: each record is written out as nested Segment JSON, decoded, and compared.
#include <charconv>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/generator/generator_source.h"
#include "connectors/json/segment_decoder.h"
#include "engine/json_text.h"
#include "tests/connectors/generator/generator_test_support.h"

namespace segflow {
namespace {

void append_value(std::string& out, const Value& v) {
  char buf[32];
  switch (v.type()) {
    case ValueType::kString:
      append_json_string(out, v.as_string());
      break;
    case ValueType::kInt:
      out.append(buf, std::to_chars(buf, buf + sizeof buf, v.as_int()).ptr);
      break;
    case ValueType::kDouble:
      out.append(buf, std::to_chars(buf, buf + sizeof buf, v.as_double()).ptr);
      break;
    case ValueType::kBool:
      out += v.as_bool() ? "true" : "false";
      break;
    case ValueType::kNull:
      out += "null";
      break;
  }
}

// A JSON object built from dotted names, keeping the order names were first seen.
struct JsonObject {
  struct Member {
    std::string key;
    bool is_object = false;
    Value value;
    std::vector<Member> members;
  };
  std::vector<Member> members;

  static void insert(std::vector<Member>& into, std::string_view dotted, const Value& value) {
    const size_t dot = dotted.find('.');
    const std::string key(dotted.substr(0, dot));
    Member* m = nullptr;
    for (Member& existing : into)
      if (existing.key == key) m = &existing;
    if (m == nullptr) {
      into.push_back(Member{key, dot != std::string_view::npos, value, {}});
      m = &into.back();
    }
    if (dot != std::string_view::npos) insert(m->members, dotted.substr(dot + 1), value);
  }
  static void write(std::string& out, const std::vector<Member>& members) {
    out += '{';
    for (size_t i = 0; i < members.size(); ++i) {
      if (i > 0) out += ',';
      append_json_string(out, members[i].key);
      out += ':';
      if (members[i].is_object)
        write(out, members[i].members);
      else
        append_value(out, members[i].value);
    }
    out += '}';
  }
};

// The Segment call a generated record stands for.
std::string segment_json(const Batch& batch, const Record& r) {
  JsonObject root;
  JsonObject::insert(root.members, "type", Value::string(event_kind_name(r.kind)));
  if (r.kind == EventKind::kTrack)
    JsonObject::insert(root.members, "event", Value::string(symbol_name(r.event)));
  std::string timestamp;
  append_iso8601(timestamp, r.event_time);
  JsonObject::insert(root.members, "timestamp", Value::string(timestamp));
  for (const Property& p : batch.properties(r))
    JsonObject::insert(root.members, symbol_name(p.name), p.value);
  std::string out;
  JsonObject::write(out, root.members);
  return out;
}

TEST(GeneratorDecoderAgreement, RecordsEqualTheirDecodedSegmentJson) {
  GeneratorSource source(
      testing::generator_config("users: 200\nevents: 20000\nout_of_order: 10s\n"));
  OperatorContext ctx;
  source.open(ctx);
  SegmentDecoder decoder;
  size_t checked = 0;
  Output out(
      [&](BatchPtr& generated) {
        Batch decoded;
        for (const Record& r : generated->records()) {
          const std::string json = segment_json(*generated, r);
          const DecodeResult result = decoder.decode(json, decoded);
          ASSERT_TRUE(result.is_ok()) << result.why() << ": " << json;
          const Record& d = decoded.records().back();
          SCOPED_TRACE(json);
          EXPECT_EQ(d.kind, r.kind);
          EXPECT_EQ(symbol_name(d.event), symbol_name(r.event));
          EXPECT_EQ(d.key, r.key);
          EXPECT_EQ(d.event_time, r.event_time);
          const auto want = generated->properties(r);
          const auto got = decoded.properties(d);
          ASSERT_EQ(got.size(), want.size());
          for (size_t i = 0; i < want.size(); ++i) {
            EXPECT_EQ(symbol_name(got[i].name), symbol_name(want[i].name));
            EXPECT_TRUE(got[i].value == want[i].value) << symbol_name(want[i].name);
          }
          ++checked;
        }
      },
      512);
  while (source.poll(out) != SourceStatus::kEnd) {
  }
  out.flush();
  EXPECT_EQ(checked, 20000u);
}

}  // namespace
}  // namespace segflow

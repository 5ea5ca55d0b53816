#include "connectors/json/record_json.h"

#include <charconv>
#include <cmath>

#include "engine/json_text.h"

namespace segflow {

namespace {

void append_value(std::string& out, const Value& v) {
  char buf[32];
  switch (v.type()) {
    case ValueType::kNull:
      out += "null";
      return;
    case ValueType::kBool:
      out += v.as_bool() ? "true" : "false";
      return;
    case ValueType::kInt: {
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.as_int());
      out.append(buf, p);
      return;
    }
    case ValueType::kDouble: {
      if (!std::isfinite(v.as_double())) {
        out += "null";
        return;
      }
      auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.as_double());
      out.append(buf, p);
      // A whole double keeps a fraction, so it reads back as a double (and 1e20 does not
      // become an integer too large for JSON parsers).
      if (std::string_view(buf, p - buf).find_first_of(".e") == std::string_view::npos) out += ".0";
      return;
    }
    case ValueType::kString:
      append_json_string(out, v.as_string());
      return;
  }
}

}  // namespace

void append_record_json(std::string& out, const Batch& batch, const Record& record) {
  out += "{\"type\":";
  append_json_string(out, event_kind_name(record.kind));
  out += ",\"event\":";
  append_json_string(out, symbol_name(record.event));
  out += ",\"profile\":";
  append_json_string(out, record.key);
  out += ",\"timestamp\":\"";
  append_iso8601(out, record.event_time);
  out += '"';
  for (const Property& p : batch.properties(record)) {
    out += ',';
    append_json_string(out, symbol_name(p.name));
    out += ':';
    append_value(out, p.value);
  }
  out += '}';
}

}  // namespace segflow

#include "connectors/file/csv_mapping.h"

#include <algorithm>

namespace segflow {

namespace {

std::vector<std::pair<std::string, SymbolId>> parse_event_map(const ConfigNode& node,
                                                              const std::string& key) {
  std::vector<std::pair<std::string, SymbolId>> out;
  auto map = node.optional_child(key);
  if (!map) return out;
  for (const auto& [cell, value] : map->entries()) {
    const std::string event = value.scalar();
    if (event.empty()) value.fail("event name must not be empty");
    out.emplace_back(cell, intern(event));
  }
  return out;
}

CsvMapping::Event parse_event(const ConfigNode& node) {
  CsvMapping::Event e;
  if (node.has("event") && !node.yaml()["event"].IsMap()) {
    const std::string constant = node.string("event");
    if (constant.empty()) node.fail_at("event", "event name must not be empty");
    e.constant = intern(constant);
    return e;
  }
  const ConfigNode spec = node.child("event");
  spec.expect_map();
  e.column = spec.string("column");
  e.values = parse_event_map(spec, "map");
  e.prefixes = parse_event_map(spec, "prefix_map");
  for (const auto& [prefix, event] : e.prefixes)
    if (prefix.empty()) spec.fail_at("prefix_map", "a prefix must not be empty");
  if (spec.has("default")) {
    const std::string fallback = spec.string("default");
    if (fallback.empty()) spec.fail_at("default", "event name must not be empty");
    e.fallback = intern(fallback);
  }
  spec.finish();
  return e;
}

void parse_timestamp(const ConfigNode& node, CsvMapping& m) {
  std::string format = "iso8601";
  if (node.has("timestamp") && !node.yaml()["timestamp"].IsMap()) {
    m.timestamp_column = node.string("timestamp");
  } else {
    const ConfigNode spec = node.child("timestamp");
    spec.expect_map();
    m.timestamp_column = spec.string("column");
    format = spec.string("format", format);
    std::string error;
    auto parsed = TimeFormat::make(format, error);
    if (!parsed) spec.fail_at("format", error);
    m.timestamp_format = *parsed;
    spec.finish();
  }
}

CsvMapping::ValueKind parse_kind(const ConfigNode& spec) {
  const std::string type = spec.string("type", "auto");
  if (type == "auto") return CsvMapping::ValueKind::kAuto;
  if (type == "string") return CsvMapping::ValueKind::kString;
  if (type == "int") return CsvMapping::ValueKind::kInteger;
  if (type == "number") return CsvMapping::ValueKind::kNumber;
  spec.fail_at("type", "unknown type '" + type + "' (auto, string, int, number)");
}

std::string property_name(const std::string& name) {
  if (name.starts_with("context.") || name.starts_with("traits.")) return name;
  return "properties." + name;
}

}  // namespace

CsvMapping CsvMapping::parse(const ConfigNode& node) {
  node.expect_map();
  CsvMapping m;
  const std::string delimiter = node.string("delimiter", ",");
  if (delimiter == "\\t" || delimiter == "\t" || delimiter == "tab") {
    m.delimiter = '\t';
  } else if (delimiter.size() != 1 || delimiter == "\"" || delimiter == "\n") {
    node.fail_at("delimiter", "must be one character, or \\t for tab");
  } else {
    m.delimiter = delimiter[0];
  }
  m.skip_header = node.boolean("skip_header", true);
  m.columns = node.strings("columns");
  if (!m.skip_header && m.columns.empty())
    node.fail("'columns' is required when skip_header is false (the file has no header)");
  m.key_column = node.string("key");
  m.key_strip_decimal = node.boolean("key_strip_decimal", false);
  m.event = parse_event(node);
  parse_timestamp(node, m);
  if (auto props = node.optional_child("properties")) {
    for (const auto& [name, value] : props->entries()) {
      if (name.empty()) props->fail("a property name must not be empty");
      Property p;
      p.name = intern(property_name(name));
      if (value.yaml().IsMap()) {
        p.column = value.string("column");
        p.kind = parse_kind(value);
        value.finish();
      } else {
        p.column = value.scalar();
      }
      if (std::any_of(m.properties.begin(), m.properties.end(),
                      [&](const Property& q) { return q.name == p.name; })) {
        props->fail_at(name, "property '" + name + "' is mapped twice");
      }
      m.properties.push_back(std::move(p));
    }
  }
  if (!m.columns.empty()) {
    for (const std::string& column : m.referenced_columns()) {
      if (std::find(m.columns.begin(), m.columns.end(), column) == m.columns.end())
        node.fail_at("columns", "column '" + column + "' is used but not listed in 'columns'");
    }
  }
  node.finish();
  return m;
}

std::vector<std::string> CsvMapping::referenced_columns() const {
  std::vector<std::string> out = {key_column, timestamp_column};
  if (event.constant == kNoSymbol) out.push_back(event.column);
  for (const Property& p : properties) out.push_back(p.column);
  return out;
}

}  // namespace segflow

#include "connectors/file/csv_row_decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "connectors/file/csv_split.h"

namespace segflow {

namespace {

size_t index_of(const std::vector<std::string>& header, const std::string& column) {
  const auto it = std::find(header.begin(), header.end(), column);
  if (it == header.end()) {
    std::string names;
    for (const std::string& h : header) names += (names.empty() ? "" : ", ") + h;
    throw std::runtime_error("column '" + column + "' is not in the CSV header (" + names + ")");
  }
  return static_cast<size_t>(it - header.begin());
}

// "17850.0" -> "17850"; anything but digits-dot-zeros is left alone.
std::string_view strip_zero_fraction(std::string_view key) {
  const size_t dot = key.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == key.size()) return key;
  for (size_t i = dot + 1; i < key.size(); ++i)
    if (key[i] != '0') return key;
  return key.substr(0, dot);
}

bool looks_numeric(std::string_view s) {
  if (s.empty()) return false;
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size() || s[i] < '0' || s[i] > '9') return false;
  if (s[i] == '0' && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9') return false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+'))
      return false;
  }
  return true;
}

bool parse_integer(std::string_view s, int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_double(std::string_view s, double& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(v);
}

}  // namespace

Value auto_typed_value(std::string_view cell) {
  if (looks_numeric(cell)) {
    int64_t i = 0;
    if (parse_integer(cell, i)) return Value::integer(i);
    double d = 0;
    if (parse_double(cell, d)) return Value::real(d);
  }
  return Value::string(cell);
}

std::optional<std::vector<std::string>> CsvRowDecoder::parse_header(std::string_view line,
                                                                    char delimiter) {
  if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
  std::vector<std::string_view> fields;
  std::string scratch;
  if (!split_csv_row(line, delimiter, fields, scratch)) return std::nullopt;
  return std::vector<std::string>(fields.begin(), fields.end());
}

CsvRowDecoder::CsvRowDecoder(const CsvMapping& mapping, std::vector<std::string> header)
    : mapping_(mapping), column_count_(header.size()) {
  key_index_ = index_of(header, mapping.key_column);
  time_index_ = index_of(header, mapping.timestamp_column);
  if (mapping.event.constant == kNoSymbol) event_index_ = index_of(header, mapping.event.column);
  for (const CsvMapping::Property& p : mapping.properties)
    property_index_.push_back(index_of(header, p.column));
  values_.resize(mapping.properties.size());
}

DecodeResult CsvRowDecoder::event_of(std::string_view cell, SymbolId& event) {
  const CsvMapping::Event& e = mapping_.event;
  if (e.constant != kNoSymbol) {
    event = e.constant;
    return DecodeResult::ok();
  }
  if (cell.empty()) return DecodeResult::fail("missing event");
  for (const auto& [value, symbol] : e.values) {
    if (cell == value) {
      event = symbol;
      return DecodeResult::ok();
    }
  }
  for (const auto& [prefix, symbol] : e.prefixes) {
    if (cell.starts_with(prefix)) {
      event = symbol;
      return DecodeResult::ok();
    }
  }
  event = e.fallback != kNoSymbol ? e.fallback : symbols_.intern(cell);
  return DecodeResult::ok();
}

DecodeResult CsvRowDecoder::typed_value(const CsvMapping::Property& p, std::string_view cell,
                                        Value& value) {
  if (cell.empty()) {
    value = Value::null();
    return DecodeResult::ok();
  }
  switch (p.kind) {
    case CsvMapping::ValueKind::kAuto:
      value = auto_typed_value(cell);
      return DecodeResult::ok();
    case CsvMapping::ValueKind::kString:
      value = Value::string(cell);
      return DecodeResult::ok();
    case CsvMapping::ValueKind::kInteger: {
      int64_t i = 0;
      if (!parse_integer(cell, i)) return DecodeResult::fail("bad number");
      value = Value::integer(i);
      return DecodeResult::ok();
    }
    case CsvMapping::ValueKind::kNumber: {
      double d = 0;
      if (!parse_double(cell, d)) return DecodeResult::fail("bad number");
      value = Value::real(d);
      return DecodeResult::ok();
    }
  }
  return DecodeResult::ok();
}

template <class Sink>
DecodeResult CsvRowDecoder::decode_into(std::string_view line, Sink& out) {
  if (!simdjson::validate_utf8(line.data(), line.size()))
    return DecodeResult::fail("invalid utf-8");
  if (!split_csv_row(line, mapping_.delimiter, fields_, scratch_) ||
      fields_.size() != column_count_) {
    return DecodeResult::fail("bad csv row");
  }
  std::string_view key = fields_[key_index_];
  if (mapping_.key_strip_decimal) key = strip_zero_fraction(key);
  if (key.empty()) return DecodeResult::fail("missing key");
  SymbolId event = kNoSymbol;
  if (DecodeResult r = event_of(fields_[event_index_], event); !r.is_ok()) return r;
  const std::string_view time_cell = fields_[time_index_];
  if (time_cell.empty()) return DecodeResult::fail("missing timestamp");
  int64_t event_time = 0;
  if (!mapping_.timestamp_format.parse_time(time_cell, event_time))
    return DecodeResult::fail("bad timestamp");
  for (size_t i = 0; i < values_.size(); ++i) {
    DecodeResult r = typed_value(mapping_.properties[i], fields_[property_index_[i]], values_[i]);
    if (!r.is_ok()) return r;
  }
  RecordBuilder b = out.add(EventKind::kTrack, key, event_time, event);
  for (size_t i = 0; i < values_.size(); ++i)
    if (!values_[i].is_null()) b.set(mapping_.properties[i].name, values_[i]);
  return DecodeResult::ok();
}

DecodeResult CsvRowDecoder::decode(std::string_view line, Output& out) {
  return decode_into(line, out);
}
DecodeResult CsvRowDecoder::decode(std::string_view line, Batch& out) {
  return decode_into(line, out);
}

}  // namespace segflow

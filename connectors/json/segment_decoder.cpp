#include "connectors/json/segment_decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <new>

#include "connectors/json/iso8601.h"
#include "connectors/json/symbol_cache.h"
#include "engine/json_text.h"

namespace segflow {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// Deeper documents are rejected; it also bounds the recursion of flatten() and append_json().
constexpr size_t kMaxDepth = 64;
constexpr size_t kInitialCapacity = 64 * 1024;

// Top-level ids, stored as string properties under their own names.
enum IdField : size_t { kUserId, kAnonymousId, kMessageId, kPreviousId, kGroupId, kIdCount };
constexpr std::array<std::string_view, kIdCount> kIdNames = {"userId", "anonymousId", "messageId",
                                                             "previousId", "groupId"};
constexpr std::array<const char*, kIdCount> kIdWrongType = {
    "wrong type: userId", "wrong type: anonymousId", "wrong type: messageId",
    "wrong type: previousId", "wrong type: groupId"};

// Objects flattened into dotted properties.
enum Section : size_t { kProperties, kTraits, kContext, kSectionCount };
constexpr std::array<std::string_view, kSectionCount> kSectionNames = {"properties", "traits",
                                                                       "context"};
constexpr std::array<const char*, kSectionCount> kSectionWrongType = {
    "wrong type: properties", "wrong type: traits", "wrong type: context"};

constexpr size_t kKindCount = 6;  // Segment call types: track .. group

bool is_null(element e) { return e.type() == element_type::NULL_VALUE; }

// Typed reads. REQUIRES: e.type() already checked, so these cannot fail.
int64_t as_int64(element e) { return e.get_int64().value_unsafe(); }
uint64_t as_uint64(element e) { return e.get_uint64().value_unsafe(); }
double as_double(element e) { return e.get_double().value_unsafe(); }
bool as_bool(element e) { return e.get_bool().value_unsafe(); }
std::string_view as_string(element e) { return e.get_string().value_unsafe(); }
object as_object(element e) { return e.get_object().value_unsafe(); }
simdjson::dom::array as_array(element e) { return e.get_array().value_unsafe(); }

// Decimal text of a JSON number; integral doubles print without a fraction ("17850.0" ->
// "17850"). `buf` must hold 32 chars.
std::string_view number_text(element e, char* buf) {
  char* end = buf;
  switch (e.type()) {
    case element_type::INT64:
      end = std::to_chars(buf, buf + 32, as_int64(e)).ptr;
      break;
    case element_type::UINT64:
      end = std::to_chars(buf, buf + 32, as_uint64(e)).ptr;
      break;
    default: {
      const double d = as_double(e);
      if (std::trunc(d) == d && std::fabs(d) < 9.0e15) {
        end = std::to_chars(buf, buf + 32, static_cast<int64_t>(d)).ptr;
      } else {
        end = std::to_chars(buf, buf + 32, d).ptr;
      }
    }
  }
  return {buf, static_cast<size_t>(end - buf)};
}

bool is_number(element e) {
  const element_type t = e.type();
  return t == element_type::INT64 || t == element_type::UINT64 || t == element_type::DOUBLE;
}

// Serialises `e` as compact JSON (used for arrays, which are stored as their JSON text).
void append_json(std::string& out, element e) {
  char buf[32];
  switch (e.type()) {
    case element_type::ARRAY: {
      out += '[';
      bool first = true;
      for (element item : as_array(e)) {
        if (!first) out += ',';
        first = false;
        append_json(out, item);
      }
      out += ']';
      return;
    }
    case element_type::OBJECT: {
      out += '{';
      bool first = true;
      for (auto field : as_object(e)) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, field.key);
        out += ':';
        append_json(out, field.value);
      }
      out += '}';
      return;
    }
    case element_type::INT64:
      out.append(buf, std::to_chars(buf, buf + sizeof buf, as_int64(e)).ptr);
      return;
    case element_type::UINT64:
      out.append(buf, std::to_chars(buf, buf + sizeof buf, as_uint64(e)).ptr);
      return;
    case element_type::DOUBLE:
      out.append(buf, std::to_chars(buf, buf + sizeof buf, as_double(e)).ptr);
      return;
    case element_type::STRING:
      append_json_string(out, as_string(e));
      return;
    case element_type::BOOL:
      out += as_bool(e) ? "true" : "false";
      return;
    case element_type::NULL_VALUE:
      out += "null";
      return;
  }
}

// Event time of a `timestamp` value: an ISO-8601 string or a number of epoch milliseconds.
bool event_time_of(element e, int64_t& ms) {
  switch (e.type()) {
    case element_type::STRING:
      return parse_iso8601(as_string(e), ms);
    case element_type::INT64:
      ms = as_int64(e);
      return is_valid_event_time(ms);
    case element_type::DOUBLE: {
      const double d = std::floor(as_double(e));
      if (!(d >= double(kEarliestEventTime) && d <= double(kLatestEventTime))) return false;
      ms = static_cast<int64_t>(d);
      return true;
    }
    default:
      return false;
  }
}

// The fields of one event that decoding looks at, gathered in a single pass.
struct EventFields {
  bool has_type = false, has_event = false, has_timestamp = false, has_name = false;
  element type, event, timestamp, name;
  std::array<bool, kIdCount> has_id{};
  std::array<element, kIdCount> ids;
  std::array<bool, kSectionCount> has_section{};
  std::array<element, kSectionCount> sections;
};

}  // namespace

struct SegmentDecoder::Impl {
  explicit Impl(Options o) : options(std::move(o)) {
    if (parser.allocate(std::min(options.max_event_bytes, kInitialCapacity), kMaxDepth) !=
        simdjson::SUCCESS) {
      throw std::bad_alloc();
    }
    for (size_t i = 0; i < kIdCount; ++i) id_symbols[i] = intern(kIdNames[i]);
    for (size_t k = 0; k < kKindCount; ++k)
      kind_events[k] = intern(event_kind_name(static_cast<EventKind>(k)));
    properties_name = intern("properties.name");
  }

  template <class Sink>
  DecodeResult decode(std::string_view json, Sink& out);
  DecodeResult parse(std::string_view json, element& root);
  void gather(object root, EventFields& f) const;
  void flatten(object obj, RecordBuilder& b);
  void set_value(RecordBuilder& b, SymbolId name, element value);

  Options options;
  simdjson::dom::parser parser;
  std::unique_ptr<char[]> padded;  // input copy followed by SIMDJSON_PADDING bytes
  size_t padded_capacity = 0;
  std::string name;  // flattened property name being built
  std::string text;  // JSON text of an array value
  SymbolCache symbols;
  size_t position = 0;  // of the next name interned in the current event
  std::array<SymbolId, kIdCount> id_symbols{};
  std::array<SymbolId, kKindCount> kind_events{};
  SymbolId properties_name = kNoSymbol;
};

DecodeResult SegmentDecoder::Impl::parse(std::string_view json, element& root) {
  if (json.size() > options.max_event_bytes) return DecodeResult::fail("event too large");
  if (padded_capacity < json.size() + simdjson::SIMDJSON_PADDING) {
    padded_capacity = std::max(json.size() + simdjson::SIMDJSON_PADDING, size_t{4096});
    padded = std::make_unique<char[]>(padded_capacity);
  }
  std::memcpy(padded.get(), json.data(), json.size());
  std::memset(padded.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
  switch (parser.parse(padded.get(), json.size(), false).get(root)) {
    case simdjson::SUCCESS:
      break;
    case simdjson::UTF8_ERROR:
      return DecodeResult::fail("invalid utf-8");
    case simdjson::DEPTH_ERROR:
      return DecodeResult::fail("too deeply nested");
    default:
      return DecodeResult::fail("malformed json");
  }
  if (root.type() != element_type::OBJECT) return DecodeResult::fail("not an object");
  return DecodeResult::ok();
}

void SegmentDecoder::Impl::gather(object root, EventFields& f) const {
  for (auto field : root) {
    const std::string_view k = field.key;
    if (k == options.timestamp_field) {
      f.has_timestamp = true;
      f.timestamp = field.value;
    } else if (k == "type") {
      f.has_type = true;
      f.type = field.value;
    } else if (k == "event") {
      f.has_event = true;
      f.event = field.value;
    } else if (k == "name") {
      f.has_name = true;
      f.name = field.value;
    } else {
      for (size_t i = 0; i < kIdCount; ++i) {
        if (k == kIdNames[i]) {
          f.has_id[i] = true;
          f.ids[i] = field.value;
        }
      }
      for (size_t s = 0; s < kSectionCount; ++s) {
        if (k == kSectionNames[s]) {
          f.has_section[s] = true;
          f.sections[s] = field.value;
        }
      }
    }
  }
}

void SegmentDecoder::Impl::set_value(RecordBuilder& b, SymbolId sym, element v) {
  switch (v.type()) {
    case element_type::INT64:
      b.set(sym, Value::integer(as_int64(v)));
      return;
    case element_type::UINT64:
      b.set(sym, Value::real(static_cast<double>(as_uint64(v))));
      return;
    case element_type::DOUBLE:
      b.set(sym, Value::real(as_double(v)));
      return;
    case element_type::BOOL:
      b.set(sym, Value::boolean(as_bool(v)));
      return;
    case element_type::NULL_VALUE:
      b.set(sym, Value::null());
      return;
    case element_type::STRING:
      b.set(sym, Value::string(as_string(v)));
      return;
    case element_type::ARRAY:
      text.clear();
      append_json(text, v);
      b.set(sym, Value::string(text));
      return;
    case element_type::OBJECT:
      return;  // flatten() recurses into objects instead
  }
}

// Adds every leaf of `obj` as "<name>.<key>[.<key>...]"; `name` holds the prefix on entry
// and is restored on exit.
void SegmentDecoder::Impl::flatten(object obj, RecordBuilder& b) {
  const size_t prefix = name.size();
  for (auto field : obj) {
    name += '.';
    name += field.key;
    if (field.value.type() == element_type::OBJECT) {
      flatten(as_object(field.value), b);
    } else {
      set_value(b, symbols.intern_at(position++, name), field.value);
    }
    name.resize(prefix);
  }
}

template <class Sink>
DecodeResult SegmentDecoder::Impl::decode(std::string_view json, Sink& out) {
  element root;
  if (DecodeResult r = parse(json, root); !r.is_ok()) return r;
  EventFields f;
  gather(as_object(root), f);

  // Call type and event name.
  EventKind kind = EventKind::kTrack;
  if (!f.has_type || is_null(f.type)) {
    if (!options.implied_kind) return DecodeResult::fail("missing type");
    kind = *options.implied_kind;
  } else if (f.type.type() != element_type::STRING) {
    return DecodeResult::fail("wrong type: type");
  } else if (!parse_event_kind(as_string(f.type), kind)) {
    return DecodeResult::fail("unknown type");
  }
  SymbolId event = kind_events[static_cast<size_t>(kind)];
  if (kind == EventKind::kTrack) {
    if (!f.has_event || is_null(f.event)) return DecodeResult::fail("missing event");
    if (f.event.type() != element_type::STRING) return DecodeResult::fail("wrong type: event");
    const std::string_view name_text = as_string(f.event);
    if (name_text.empty()) return DecodeResult::fail("missing event");
    event = symbols.intern_at(0, name_text);
  }

  // Ids: strings, or numbers written in decimal; null means absent.
  std::array<std::string_view, kIdCount> ids;
  char digits[kIdCount][32];
  for (size_t i = 0; i < kIdCount; ++i) {
    if (!f.has_id[i] || is_null(f.ids[i])) continue;
    if (f.ids[i].type() == element_type::STRING) {
      ids[i] = as_string(f.ids[i]);
    } else if (is_number(f.ids[i])) {
      ids[i] = number_text(f.ids[i], digits[i]);
    } else {
      return DecodeResult::fail(kIdWrongType[i]);
    }
  }
  const std::string_view key = !ids[kUserId].empty() ? ids[kUserId] : ids[kAnonymousId];
  if (key.empty()) return DecodeResult::fail("missing userId and anonymousId");

  int64_t event_time = 0;
  if (!f.has_timestamp || is_null(f.timestamp)) {
    if (options.require_timestamp) return DecodeResult::fail("missing timestamp");
  } else if (!event_time_of(f.timestamp, event_time)) {
    return DecodeResult::fail("bad timestamp");
  }

  for (size_t s = 0; s < kSectionCount; ++s) {
    if (!f.has_section[s] || is_null(f.sections[s])) {
      f.has_section[s] = false;
    } else if (f.sections[s].type() != element_type::OBJECT) {
      return DecodeResult::fail(kSectionWrongType[s]);
    }
  }
  const bool page_like = kind == EventKind::kPage || kind == EventKind::kScreen;
  if (page_like && f.has_name && !is_null(f.name) && f.name.type() != element_type::STRING)
    return DecodeResult::fail("wrong type: name");

  // Valid: from here on nothing can fail.
  position = 1;  // 0 is the event name
  RecordBuilder b = out.add(kind, key, event_time, event);
  for (size_t i = 0; i < kIdCount; ++i)
    if (!ids[i].empty()) b.set(id_symbols[i], Value::string(ids[i]));
  for (size_t s = 0; s < kSectionCount; ++s) {
    if (!f.has_section[s]) continue;
    name.assign(kSectionNames[s]);
    flatten(as_object(f.sections[s]), b);
  }
  if (page_like && f.has_name && f.name.type() == element_type::STRING) {
    const bool in_properties =
        f.has_section[kProperties] &&
        as_object(f.sections[kProperties])["name"].error() == simdjson::SUCCESS;
    if (!in_properties) b.set(properties_name, Value::string(as_string(f.name)));
  }
  return DecodeResult::ok();
}

SegmentDecoder::SegmentDecoder() : SegmentDecoder(Options{}) {}
SegmentDecoder::SegmentDecoder(Options options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
SegmentDecoder::~SegmentDecoder() = default;

DecodeResult SegmentDecoder::decode(std::string_view json, Output& out) {
  return impl_->decode(json, out);
}
DecodeResult SegmentDecoder::decode(std::string_view json, Batch& out) {
  return impl_->decode(json, out);
}
const SegmentDecoder::Options& SegmentDecoder::options() const { return impl_->options; }

}  // namespace segflow

// libFuzzer target: SegmentDecoder on arbitrary bytes. It must never crash, and every record
// it accepts must have a key, an in-range time and valid UTF-8 text. Accepted records are
// also written with append_record_json (the sinks' encoder), to exercise it under ASan.
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connectors/json/iso8601.h"
#include "connectors/json/record_json.h"
#include "connectors/json/segment_decoder.h"

namespace {

segflow::SegmentDecoder::Options small_options() {
  segflow::SegmentDecoder::Options o;
  o.max_event_bytes = 256;
  o.implied_kind = segflow::EventKind::kTrack;
  o.timestamp_field = "sentAt";
  return o;
}

bool is_utf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

void check(const segflow::Batch& batch) {
  std::string json;
  for (const segflow::Record& r : batch.records()) {
    if (r.key.empty() || !is_utf8(r.key) || !segflow::is_valid_event_time(r.event_time))
      std::abort();
    for (const segflow::Property& p : batch.properties(r))
      if (p.value.is_string() && !is_utf8(p.value.as_string())) std::abort();
    json.clear();
    segflow::append_record_json(json, batch, r);
    if (!is_utf8(json)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static segflow::SegmentDecoder decoder;
  static segflow::SegmentDecoder small(small_options());
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  segflow::Batch batch;
  const segflow::DecodeResult a = decoder.decode(input, batch);
  const segflow::DecodeResult b = small.decode(input, batch);
  if (a.is_ok() + b.is_ok() != batch.size()) std::abort();  // one record per success
  if (!a.is_ok() && a.why().empty()) std::abort();
  check(batch);
  return 0;
}

// libFuzzer target: CSV splitting, CSV row decoding and time-format parsing on arbitrary
// bytes. Never crash; re-quoting the fields of a row and splitting again gives them back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "connectors/file/csv_row_decoder.h"
#include "connectors/file/csv_split.h"
#include "connectors/file/time_format.h"
#include "connectors/json/iso8601.h"

namespace {

const segflow::CsvMapping& mapping() {
  static const segflow::CsvMapping m = segflow::CsvMapping::parse(segflow::ConfigNode(
      YAML::Load("{key: id, key_strip_decimal: true, event: {column: kind, map: {v: Viewed},"
                 " prefix_map: {C: Cancelled}}, timestamp: {column: when,"
                 " format: '%d/%b/%Y:%H:%M:%S.%f %z'}, properties: {p: price, q: {column: qty,"
                 " type: int}, n: {column: qty, type: number}}}"),
      std::make_shared<const std::string>("fuzz.yaml"), "csv"));
  return m;
}

void round_trip(std::string_view line) {
  std::vector<std::string_view> fields;
  std::string scratch;
  if (!segflow::split_csv_row(line, ',', fields, scratch)) return;
  if (fields.empty()) std::abort();
  std::string quoted;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) quoted += ',';
    quoted += '"';
    for (char c : fields[i]) {
      if (c == '"') quoted += '"';
      quoted += c;
    }
    quoted += '"';
  }
  const std::vector<std::string> expected(fields.begin(), fields.end());
  if (!segflow::split_csv_row(quoted, ',', fields, scratch) || fields.size() != expected.size())
    std::abort();
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i] != expected[i]) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  round_trip(input);

  static segflow::CsvRowDecoder decoder(mapping(), {"id", "kind", "when", "price", "qty"});
  segflow::Batch batch;
  const segflow::DecodeResult r = decoder.decode(input, batch);
  if (r.is_ok() != (batch.size() == 1)) std::abort();

  static const std::vector<segflow::TimeFormat> formats = [] {
    std::string error;
    std::vector<segflow::TimeFormat> f;
    for (const char* spec : {"iso8601", "epoch_s", "epoch_ms", "%Y-%m-%d %H:%M:%S", "%F %T.%f%z"})
      f.push_back(*segflow::TimeFormat::make(spec, error));
    return f;
  }();
  for (const segflow::TimeFormat& f : formats) {
    int64_t ms = 0;
    if (f.parse_time(input, ms) && !segflow::is_valid_event_time(ms)) std::abort();
  }
  return 0;
}

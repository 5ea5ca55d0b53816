// CsvRowDecoder: turns one CSV line into a track Record following a CsvMapping (key, event,
// time and property columns, resolved against the file's header). Bad rows are reported as
// a dead-letter reason, never thrown. Thread safety: none; one instance per thread (it
// reuses scratch buffers across calls).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/file/csv_mapping.h"
#include "connectors/json/decode_result.h"
#include "connectors/json/symbol_cache.h"
#include "engine/batch.h"
#include "engine/output.h"

namespace segflow {

class CsvRowDecoder {
 public:
  // `header`: the file's column names in order. Throws std::runtime_error naming the first
  // column the mapping uses that is not in it. `mapping` must outlive the decoder.
  CsvRowDecoder(const CsvMapping& mapping, std::vector<std::string> header);

  // Decodes `line` and appends one record to `out`; on failure appends nothing and returns
  // the reason: "invalid utf-8", "bad csv row" (malformed quoting or wrong column count),
  // "missing key", "missing event", "missing timestamp", "bad timestamp", "bad number".
  DecodeResult decode(std::string_view line, Output& out);
  DecodeResult decode(std::string_view line, Batch& out);

  // The column names of a header line (a UTF-8 byte-order mark is dropped); nullopt when
  // the line is not valid CSV.
  static std::optional<std::vector<std::string>> parse_header(std::string_view line,
                                                              char delimiter);

 private:
  template <class Sink>
  DecodeResult decode_into(std::string_view line, Sink& out);
  DecodeResult event_of(std::string_view cell, SymbolId& event);
  DecodeResult typed_value(const CsvMapping::Property& p, std::string_view cell, Value& value);

  const CsvMapping& mapping_;
  size_t column_count_ = 0;
  size_t key_index_ = 0;
  size_t event_index_ = 0;
  size_t time_index_ = 0;
  std::vector<size_t> property_index_;
  std::vector<std::string_view> fields_;
  std::string scratch_;
  std::vector<Value> values_;  // per property; null = empty cell, not emitted
  SymbolCache symbols_;        // event names taken from cells
};

// Auto-typing of a CSV cell: an integer (no leading zeros) as an int, a decimal as a double,
// anything else as text. The text is not copied.
Value auto_typed_value(std::string_view cell);

}  // namespace segflow

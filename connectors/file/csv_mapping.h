// CsvMapping: the `csv:` settings of a file source, which say how one CSV row becomes an
// event: which column is the profile key, how the event name and time are found, and which
// columns become properties. Parsed and checked once at job load; immutable afterwards and
// shared by all subtasks (read-only, so safe from any thread).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/file/time_format.h"
#include "engine/config_node.h"
#include "engine/symbol_table.h"

namespace segflow {

struct CsvMapping {
  // How a property cell is typed. kAuto: integers and decimals become numbers, the rest text.
  enum class ValueKind { kAuto, kString, kInteger, kNumber };

  struct Property {
    SymbolId name = kNoSymbol;  // "properties.<name>" ("context.*" and "traits.*" verbatim)
    std::string column;
    ValueKind kind = ValueKind::kAuto;
  };

  struct Event {
    SymbolId constant = kNoSymbol;  // set: every row is this event, `column` unused
    std::string column;
    std::vector<std::pair<std::string, SymbolId>> values;    // `map`: exact cell -> event
    std::vector<std::pair<std::string, SymbolId>> prefixes;  // `prefix_map`: cell prefix -> event
    SymbolId fallback = kNoSymbol;  // `default`: unmapped cells; unset: the cell text itself
  };

  char delimiter = ',';
  bool skip_header = true;
  std::vector<std::string> columns;  // names the columns (instead of the header line)
  std::string key_column;
  bool key_strip_decimal = false;  // "17850.0" -> "17850"
  Event event;
  std::string timestamp_column;
  TimeFormat timestamp_format;
  std::vector<Property> properties;

  // Reads the `csv:` mapping; throws SpecError (file:line:column) for any mistake, including
  // unknown keys in it and in its nested mappings.
  static CsvMapping parse(const ConfigNode& node);
  // Every column the mapping reads.
  std::vector<std::string> referenced_columns() const;
};

}  // namespace segflow

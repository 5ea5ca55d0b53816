// Splitting one CSV record (RFC 4180) into its fields: fields are separated by the
// delimiter; a field that starts with '"' is quoted and may contain the delimiter and
// doubled quotes (""). A quote inside an unquoted field is kept as text. Pure function.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace segflow {

// Fills `fields` with views into `line`, or into `scratch` for quoted fields that contained
// doubled quotes (`scratch` is overwritten). Returns false for a malformed record: an
// unterminated quoted field, or text between a closing quote and the next delimiter.
// The views stay valid until `line` or `scratch` change.
bool split_csv_row(std::string_view line, char delimiter, std::vector<std::string_view>& fields,
                   std::string& scratch);

}  // namespace segflow

#include "connectors/file/csv_split.h"

#include <cstring>

namespace segflow {

bool split_csv_row(std::string_view line, char delimiter, std::vector<std::string_view>& fields,
                   std::string& scratch) {
  fields.clear();
  scratch.clear();
  // Unescaped text is never longer than the line, so `scratch` never reallocates below and
  // views into it stay valid.
  scratch.reserve(line.size());
  size_t i = 0;
  for (;;) {
    if (i < line.size() && line[i] == '"') {
      // Quoted field: copy nothing unless it holds a doubled quote.
      size_t start = ++i;
      bool copied = false;
      size_t scratch_start = scratch.size();
      for (;;) {
        const void* q =
            i < line.size() ? std::memchr(line.data() + i, '"', line.size() - i) : nullptr;
        if (q == nullptr) return false;  // unterminated
        const size_t quote = static_cast<size_t>(static_cast<const char*>(q) - line.data());
        if (quote + 1 < line.size() && line[quote + 1] == '"') {
          if (!copied) {
            scratch_start = scratch.size();
            copied = true;
          }
          scratch.append(line.data() + start, quote + 1 - start);  // text and one quote
          i = start = quote + 2;
          continue;
        }
        if (copied) {
          scratch.append(line.data() + start, quote - start);
          fields.emplace_back(scratch.data() + scratch_start, scratch.size() - scratch_start);
        } else {
          fields.emplace_back(line.data() + start, quote - start);
        }
        i = quote + 1;
        break;
      }
      if (i == line.size()) return true;
      if (line[i] != delimiter) return false;  // text after the closing quote
      ++i;
      continue;
    }
    const void* d =
        i < line.size() ? std::memchr(line.data() + i, delimiter, line.size() - i) : nullptr;
    if (d == nullptr) {
      fields.push_back(line.substr(i));
      return true;
    }
    const size_t stop = static_cast<size_t>(static_cast<const char*>(d) - line.data());
    fields.push_back(line.substr(i, stop - i));
    i = stop + 1;
  }
}

}  // namespace segflow

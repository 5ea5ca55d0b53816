#include "engine/record.h"

#include <array>

namespace segflow {

namespace {
constexpr std::array<std::string_view, 9> kKindNames = {"track",   "identify",     "page",
                                                        "screen",  "alias",        "group",
                                                        "derived", "merge_export", "merge_import"};
// Only Segment call types are parsed from input.
constexpr size_t kParsedKinds = 6;
}  // namespace

std::string_view event_kind_name(EventKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

bool parse_event_kind(std::string_view name, EventKind& kind) {
  for (size_t i = 0; i < kParsedKinds; ++i) {
    if (kKindNames[i] == name) {
      kind = static_cast<EventKind>(i);
      return true;
    }
  }
  return false;
}

}  // namespace segflow

// SymbolCache: a per-decoder memo in front of the process-wide SymbolTable, so decoding a
// property name costs one unlocked hash lookup instead of a shared lock on the global table,
// and, through intern_at(), usually just one comparison: events of one stream tend to carry
// the same names in the same order. Bounded: past kMaxEntries names it passes straight
// through to the global table.
// Thread safety: none; one per decoder instance.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "engine/string_hash.h"

#include "engine/symbol_table.h"

namespace segflow {

class SymbolCache {
 public:
  static constexpr size_t kMaxEntries = 1 << 16;

  static constexpr size_t kMaxPositions = 256;

  SymbolId intern(std::string_view name);
  // intern() for the name at `position` in the decoder's walk over one event: checks the
  // name seen at that position last time before hashing.
  SymbolId intern_at(size_t position, std::string_view name);
  size_t size() const { return ids_.size(); }

 private:
  boost::unordered_flat_map<std::string, SymbolId, StringHash, StringEq> ids_;
  std::vector<std::pair<std::string, SymbolId>> recent_;  // by position
};

}  // namespace segflow

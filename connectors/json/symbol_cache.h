// SymbolCache: a per-decoder memo in front of the process-wide SymbolTable, so decoding a
// property name costs one unlocked hash lookup instead of a shared lock on the global table.
// Bounded: past kMaxEntries names it passes straight through to the global table.
// Thread safety: none; one per decoder instance.
#pragma once

#include <string>
#include <string_view>

#include <boost/unordered/unordered_flat_map.hpp>

#include "engine/symbol_table.h"

namespace segflow {

class SymbolCache {
 public:
  static constexpr size_t kMaxEntries = 1 << 16;

  SymbolId intern(std::string_view name);
  size_t size() const { return ids_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const;
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return a == b; }
  };
  boost::unordered_flat_map<std::string, SymbolId, Hash, Eq> ids_;
};

}  // namespace segflow

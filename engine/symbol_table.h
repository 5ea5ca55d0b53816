// SymbolTable: interns event and property names to small integer ids, process-wide.
// Ids are stable for the life of the process and dense from 0. Thread safety: all methods
// may be called from any thread; intern() takes a shared lock on the hit path.
#pragma once

#include <cstdint>
#include <deque>
#include <shared_mutex>
#include <string>
#include <string_view>

#include <boost/unordered/unordered_flat_map.hpp>

#include "engine/string_hash.h"

namespace segflow {

using SymbolId = uint32_t;
inline constexpr SymbolId kNoSymbol = UINT32_MAX;

class SymbolTable {
 public:
  // The process-wide table.
  static SymbolTable& global();

  SymbolId intern(std::string_view name);
  // kNoSymbol when `name` was never interned.
  SymbolId find(std::string_view name) const;
  // REQUIRES: id was returned by intern(). The view is valid for the process lifetime.
  std::string_view name(SymbolId id) const;

 private:
  mutable std::shared_mutex mutex_;
  std::deque<std::string> names_;  // deque: element addresses never move
  boost::unordered_flat_map<std::string_view, SymbolId, StringHash, StringEq> ids_;
};

// Shorthands for the global table.
inline SymbolId intern(std::string_view name) { return SymbolTable::global().intern(name); }
inline std::string_view symbol_name(SymbolId id) { return SymbolTable::global().name(id); }

}  // namespace segflow

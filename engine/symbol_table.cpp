#include "engine/symbol_table.h"

#include <mutex>

namespace segflow {

SymbolTable& SymbolTable::global() {
  static SymbolTable table;
  return table;
}

SymbolId SymbolTable::intern(std::string_view name) {
  {
    std::shared_lock lock(mutex_);
    if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  }
  std::unique_lock lock(mutex_);
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  const auto id = static_cast<SymbolId>(names_.size());
  names_.emplace_back(name);
  ids_.emplace(std::string_view(names_.back()), id);
  return id;
}

SymbolId SymbolTable::find(std::string_view name) const {
  std::shared_lock lock(mutex_);
  auto it = ids_.find(name);
  return it == ids_.end() ? kNoSymbol : it->second;
}

std::string_view SymbolTable::name(SymbolId id) const {
  std::shared_lock lock(mutex_);
  return names_[id];
}

}  // namespace segflow

#include "connectors/json/symbol_cache.h"

namespace segflow {

SymbolId SymbolCache::intern(std::string_view name) {
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  const SymbolId id = segflow::intern(name);
  if (ids_.size() < kMaxEntries) ids_.emplace(std::string(name), id);
  return id;
}

SymbolId SymbolCache::intern_at(size_t position, std::string_view name) {
  if (position >= kMaxPositions) return intern(name);
  if (position >= recent_.size()) recent_.resize(position + 1, {std::string(), kNoSymbol});
  auto& [recent_name, recent_id] = recent_[position];
  if (recent_id != kNoSymbol && recent_name == name) return recent_id;
  recent_id = intern(name);
  recent_name.assign(name);
  return recent_id;
}

}  // namespace segflow

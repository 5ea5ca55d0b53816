#include "connectors/json/symbol_cache.h"

#include "engine/key_group.h"

namespace segflow {

size_t SymbolCache::Hash::operator()(std::string_view s) const { return hash_key(s); }

SymbolId SymbolCache::intern(std::string_view name) {
  if (auto it = ids_.find(name); it != ids_.end()) return it->second;
  const SymbolId id = segflow::intern(name);
  if (ids_.size() < kMaxEntries) ids_.emplace(std::string(name), id);
  return id;
}

}  // namespace segflow

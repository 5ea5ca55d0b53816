#include "engine/key_group.h"

// The header's inline XXH3 (the same function as the library's): no call through the PLT.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace segflow {

uint64_t hash_key(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

}  // namespace segflow

#include "engine/key_group.h"

#include <xxhash.h>

namespace segflow {

uint64_t hash_key(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

}  // namespace segflow

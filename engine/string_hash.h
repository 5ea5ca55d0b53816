// Transparent hash and equality for string-keyed hash maps, so lookups by string_view do
// not build a std::string. The hash is the key-group hash (XXH3). Pure functions.
#pragma once

#include <cstddef>
#include <string_view>

#include "engine/key_group.h"

namespace segflow {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return hash_key(s); }
};

struct StringEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

}  // namespace segflow

// Transparent hash and equality for string-keyed hash maps, so lookups by string_view do
// not build a std::string. The hash is the key-group hash (XXH3). Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "engine/key_group.h"

namespace segflow {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return hash_key(s); }
};

// Keys are mostly short (profile ids): up to 16 bytes they are compared with two
// overlapping word loads each, without a call to memcmp.
struct StringEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    const size_t n = a.size();
    if (n != b.size()) return false;
    if (n >= 8 && n <= 16) return word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8);
    return a == b;
  }

 private:
  static uint64_t word(std::string_view s, size_t at) {
    uint64_t w;
    std::memcpy(&w, s.data() + at, sizeof w);
    return w;
  }
};

}  // namespace segflow

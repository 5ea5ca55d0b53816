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

// Keys are mostly short (profile ids): from 4 to 16 bytes they are compared with two
// overlapping word loads each, without a call to memcmp.
struct StringEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    const size_t n = a.size();
    if (n != b.size()) return false;
    if (n >= 8 && n <= 16)
      return load<uint64_t>(a, 0) == load<uint64_t>(b, 0) &&
             load<uint64_t>(a, n - 8) == load<uint64_t>(b, n - 8);
    if (n >= 4 && n < 8)
      return load<uint32_t>(a, 0) == load<uint32_t>(b, 0) &&
             load<uint32_t>(a, n - 4) == load<uint32_t>(b, n - 4);
    return a == b;
  }

 private:
  template <class Word>
  static Word load(std::string_view s, size_t at) {
    Word w;
    std::memcpy(&w, s.data() + at, sizeof w);
    return w;
  }
};

}  // namespace segflow

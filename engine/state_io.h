// StateWriter / StateReader: the binary format of operator snapshots (checkpoints,
// savepoints, state handed over on identity merges). Codec<T> says how a type is written;
// arithmetic types, strings, vectors, pairs and maps are built in, and a type with
// `void write(StateWriter&) const` and `static T read(StateReader&)` works too.
// Thread safety: none; one writer or reader per thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace segflow {

class StateWriter {
 public:
  // Inline, with room made ahead: a field costs a compare and a store, not a library call.
  void bytes(const void* p, size_t n) {
    if (n == 0) return;
    if (n > out_.size() - used_) grow(n);
    std::memcpy(out_.data() + used_, p, n);
    used_ += n;
  }
  void u64(uint64_t v) { bytes(&v, sizeof v); }
  void str(std::string_view s) {
    u64(s.size());
    bytes(s.data(), s.size());
  }
  // The bytes written so far.
  const std::string& data() const {
    out_.resize(used_);  // drops the room made ahead (its capacity stays)
    return out_;
  }
  std::string take() {
    out_.resize(used_);
    used_ = 0;
    return std::move(out_);
  }
  // Bytes written so far: where the next write goes (for patch_u64).
  size_t size() const { return used_; }
  // Overwrites the u64 written at `at` (a count only known after what follows it).
  void patch_u64(size_t at, uint64_t v) { std::memcpy(out_.data() + at, &v, sizeof v); }
  // Room for `n` bytes in all: a snapshot about the size of the previous one grows in place.
  void reserve(size_t n) { out_.reserve(n); }

 private:
  // Room for `n` more bytes: all the capacity, or double, as std::string grows.
  void grow(size_t n) {
    out_.resize(std::max({used_ + n, 2 * out_.size(), out_.capacity(), size_t{256}}));
  }

  mutable std::string out_;  // [0, used_) written; the rest is room to write into
  size_t used_ = 0;
};

// Thrown on truncated or corrupt state.
class StateFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class StateReader {
 public:
  explicit StateReader(std::string_view in) : in_(in) {}
  void bytes(void* p, size_t n) {
    if (n > in_.size() - pos_) throw StateFormatError("state truncated");
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
  }
  uint64_t u64() {
    uint64_t v;
    bytes(&v, sizeof v);
    return v;
  }
  std::string str() {
    const uint64_t n = u64();
    if (n > in_.size() - pos_) throw StateFormatError("state truncated");
    std::string s(in_.substr(pos_, n));
    pos_ += n;
    return s;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

template <class T, class = void>
struct Codec {
  static void write(StateWriter& w, const T& v) { v.write(w); }
  static T read(StateReader& r) { return T::read(r); }
};

template <class T>
struct Codec<T, std::enable_if_t<std::is_arithmetic_v<T> || std::is_enum_v<T>>> {
  static void write(StateWriter& w, const T& v) { w.bytes(&v, sizeof v); }
  static T read(StateReader& r) {
    T v;
    r.bytes(&v, sizeof v);
    return v;
  }
};

template <>
struct Codec<std::string> {
  static void write(StateWriter& w, const std::string& v) { w.str(v); }
  static std::string read(StateReader& r) { return r.str(); }
};

template <class A, class B>
struct Codec<std::pair<A, B>> {
  static void write(StateWriter& w, const std::pair<A, B>& v) {
    Codec<A>::write(w, v.first);
    Codec<B>::write(w, v.second);
  }
  static std::pair<A, B> read(StateReader& r) {
    A a = Codec<A>::read(r);
    return {std::move(a), Codec<B>::read(r)};
  }
};

template <class T>
struct Codec<std::vector<T>> {
  static void write(StateWriter& w, const std::vector<T>& v) {
    w.u64(v.size());
    if constexpr (std::is_arithmetic_v<T>)
      w.bytes(v.data(), v.size() * sizeof(T));  // the same bytes, in one append
    else
      for (const T& e : v) Codec<T>::write(w, e);
  }
  static std::vector<T> read(StateReader& r) {
    std::vector<T> v(r.u64());
    for (T& e : v) e = Codec<T>::read(r);
    return v;
  }
};

template <class K, class V>
struct Codec<std::map<K, V>> {
  static void write(StateWriter& w, const std::map<K, V>& m) {
    w.u64(m.size());
    for (const auto& [k, v] : m) {
      Codec<K>::write(w, k);
      Codec<V>::write(w, v);
    }
  }
  static std::map<K, V> read(StateReader& r) {
    std::map<K, V> m;
    for (uint64_t n = r.u64(); n > 0; --n) {
      K k = Codec<K>::read(r);
      m.emplace(std::move(k), Codec<V>::read(r));
    }
    return m;
  }
};

template <class T>
void write_state(StateWriter& w, const T& v) {
  Codec<T>::write(w, v);
}
template <class T>
T read_state(StateReader& r) {
  return Codec<T>::read(r);
}

}  // namespace segflow

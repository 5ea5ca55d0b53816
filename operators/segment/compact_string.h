// CompactString: an owned string in 8 bytes: up to 7 characters inline (device types,
// countries, plans), longer ones in one heap block holding their length and characters.
// Converts to std::string_view. Thread safety: a plain value type.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <ostream>
#include <string_view>

namespace segflow {

class CompactString {
 public:
  CompactString() = default;
  explicit CompactString(std::string_view s) { set(s); }
  CompactString(const CompactString& o) { set(o.view()); }
  CompactString(CompactString&& o) noexcept : word_(o.word_) { o.word_ = kEmpty; }
  CompactString& operator=(const CompactString& o) {
    if (this != &o) {
      CompactString copy(o);
      *this = std::move(copy);
    }
    return *this;
  }
  CompactString& operator=(CompactString&& o) noexcept {
    if (this != &o) {
      release();
      word_ = o.word_;
      o.word_ = kEmpty;
    }
    return *this;
  }
  ~CompactString() { release(); }

  std::string_view view() const {
    if (is_inline()) {
      return {reinterpret_cast<const char*>(&word_) + 1, static_cast<size_t>((word_ & 0xff) >> 1)};
    }
    const char* block = reinterpret_cast<const char*>(word_);
    uint32_t size;
    std::memcpy(&size, block, sizeof size);
    return {block + sizeof size, size};
  }
  operator std::string_view() const { return view(); }  // NOLINT: a string, viewed
  size_t size() const { return view().size(); }

  friend bool operator==(const CompactString& a, const CompactString& b) {
    return a.view() == b.view();
  }
  friend bool operator==(const CompactString& a, std::string_view b) { return a.view() == b; }
  friend bool operator<(const CompactString& a, const CompactString& b) {
    return a.view() < b.view();
  }
  friend std::ostream& operator<<(std::ostream& os, const CompactString& s) {
    return os << s.view();
  }

 private:
  static constexpr size_t kInlineMax = 7;
  // Inline: byte 0 is (length << 1) | 1 and bytes 1..7 the characters (little-endian
  // word); else the address of the block (even: malloc aligns it).
  static constexpr uint64_t kEmpty = 1;

  bool is_inline() const { return (word_ & 1) != 0; }
  void set(std::string_view s) {
    if (s.size() <= kInlineMax) {
      uint64_t w = (static_cast<uint64_t>(s.size()) << 1) | 1;
      std::memcpy(reinterpret_cast<char*>(&w) + 1, s.data(), s.size());
      word_ = w;
      return;
    }
    const auto size = static_cast<uint32_t>(s.size());
    char* block = static_cast<char*>(std::malloc(sizeof size + s.size()));
    if (block == nullptr) throw std::bad_alloc();
    std::memcpy(block, &size, sizeof size);
    std::memcpy(block + sizeof size, s.data(), s.size());
    word_ = reinterpret_cast<uint64_t>(block);
  }
  void release() {
    if (!is_inline()) std::free(reinterpret_cast<void*>(word_));
    word_ = kEmpty;
  }

  uint64_t word_ = kEmpty;
};

}  // namespace segflow

// StateKey: the key of a heap keyed-state entry. Keys of up to 38 bytes (profile ids,
// UUIDs) are kept inside the entry itself, so a lookup compares them without touching
// another cache line and an entry costs no allocation of its own; longer keys go to the
// heap. Reads as a std::string_view. Thread safety: a plain value type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace segflow {

class StateKey {
 public:
  StateKey() { bytes_[kTag] = 0; }
  explicit StateKey(std::string_view s) { assign(s); }
  StateKey(const StateKey& other) { assign(other.view()); }
  StateKey(StateKey&& other) noexcept {
    std::memcpy(bytes_, other.bytes_, sizeof bytes_);
    other.bytes_[kTag] = 0;
  }
  StateKey& operator=(const StateKey& other) {
    if (this != &other) {
      release();
      assign(other.view());
    }
    return *this;
  }
  StateKey& operator=(StateKey&& other) noexcept {
    if (this != &other) {
      release();
      std::memcpy(bytes_, other.bytes_, sizeof bytes_);
      other.bytes_[kTag] = 0;
    }
    return *this;
  }
  ~StateKey() { release(); }

  std::string_view view() const {
    if (!on_heap()) return {bytes_, static_cast<size_t>(bytes_[kTag])};
    const char* data;
    size_t size;
    std::memcpy(&data, bytes_, sizeof data);
    std::memcpy(&size, bytes_ + sizeof data, sizeof size);
    return {data, size};
  }
  operator std::string_view() const { return view(); }  // NOLINT: reads as a string_view

 private:
  static constexpr size_t kInline = 38;  // bytes kept inside
  static constexpr size_t kTag = 39;     // the inline length, or kOnHeap
  static constexpr char kOnHeap = static_cast<char>(0x7F);

  bool on_heap() const { return bytes_[kTag] == kOnHeap; }
  void assign(std::string_view s) {
    if (s.size() <= kInline) {
      std::memcpy(bytes_, s.data(), s.size());
      bytes_[kTag] = static_cast<char>(s.size());
      return;
    }
    char* data = new char[s.size()];
    std::memcpy(data, s.data(), s.size());
    const size_t size = s.size();
    std::memcpy(bytes_, &data, sizeof data);
    std::memcpy(bytes_ + sizeof data, &size, sizeof size);
    bytes_[kTag] = kOnHeap;
  }
  void release() {
    if (!on_heap()) return;
    delete[] view().data();
    bytes_[kTag] = 0;
  }

  alignas(8) char bytes_[kTag + 1];
};

}  // namespace segflow

// CompactVector<T>: a vector whose handle is one pointer (8 bytes, against std::vector's 24):
// its size and capacity live in the heap block, and an empty vector holds no block. It grows
// by a quarter of its size (not doubling), and frees its block when it becomes empty: for the
// many small, often empty lists of per-profile state (up to 8 elements it grows one at a time),
// where the handle and the slack dominate. T must be nothrow move-constructible. Iterators are
// pointers, invalidated by any change. Thread safety: a plain value type.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace segflow {

template <class T>
class CompactVector {
  static_assert(std::is_nothrow_move_constructible_v<T>);

 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  CompactVector() = default;
  CompactVector(std::initializer_list<T> items) { assign(items.begin(), items.end()); }
  CompactVector(const CompactVector& o) { assign(o.begin(), o.end()); }
  CompactVector(CompactVector&& o) noexcept : block_(std::exchange(o.block_, nullptr)) {}
  CompactVector& operator=(const CompactVector& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  CompactVector& operator=(CompactVector&& o) noexcept {
    if (this != &o) {
      clear();
      block_ = std::exchange(o.block_, nullptr);
    }
    return *this;
  }
  ~CompactVector() { clear(); }

  template <class It>
  void assign(It first, It last) {
    clear();
    reserve(static_cast<uint32_t>(std::distance(first, last)));
    for (; first != last; ++first) push_back(*first);
  }

  uint32_t size() const { return block_ != nullptr ? block_->size : 0; }
  uint32_t capacity() const { return block_ != nullptr ? block_->capacity : 0; }
  bool empty() const { return size() == 0; }
  T* data() { return block_ != nullptr ? block_->items() : nullptr; }
  const T* data() const { return block_ != nullptr ? block_->items() : nullptr; }
  T* begin() { return data(); }
  T* end() { return data() + size(); }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size(); }
  T& operator[](size_t i) { return data()[i]; }
  const T& operator[](size_t i) const { return data()[i]; }
  T& front() { return data()[0]; }
  const T& front() const { return data()[0]; }
  T& back() { return data()[size() - 1]; }
  const T& back() const { return data()[size() - 1]; }

  // Destroys every element and frees the block.
  void clear() {
    if (block_ == nullptr) return;
    std::destroy(begin(), end());
    std::free(block_);
    block_ = nullptr;
  }

  void reserve(uint32_t n) {
    if (n > capacity()) reallocate(n);
  }

  template <class... Args>
  T& emplace_back(Args&&... args) {
    grow_for(size() + 1);
    T* at = new (end()) T(std::forward<Args>(args)...);
    ++block_->size;
    return *at;
  }
  void push_back(const T& v) { emplace_back(v); }
  void push_back(T&& v) { emplace_back(std::move(v)); }

  // Inserts `v` before `pos`; returns where it is now.
  T* insert(const T* pos, T v) {
    const auto index = static_cast<uint32_t>(pos - begin());
    emplace_back(std::move(v));
    std::rotate(begin() + index, end() - 1, end());
    return begin() + index;
  }

  // Erases [first, last); frees the block when nothing remains.
  T* erase(const T* first, const T* last) {
    const auto from = static_cast<uint32_t>(first - begin());
    const auto count = static_cast<uint32_t>(last - first);
    if (count == 0) return begin() + from;
    if (count == size()) {
      clear();
      return nullptr;
    }
    std::move(begin() + from + count, end(), begin() + from);
    std::destroy(end() - count, end());
    block_->size -= count;
    return begin() + from;
  }
  T* erase(const T* pos) { return erase(pos, pos + 1); }
  void pop_back() { erase(end() - 1, end()); }

  bool operator==(const CompactVector& o) const {
    return std::equal(begin(), end(), o.begin(), o.end());
  }
  friend bool operator==(const CompactVector& a, const std::vector<T>& b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  struct Block {
    uint32_t size;
    uint32_t capacity;
    T* items() { return reinterpret_cast<T*>(reinterpret_cast<char*>(this) + kHeader); }
    const T* items() const {
      return reinterpret_cast<const T*>(reinterpret_cast<const char*>(this) + kHeader);
    }
  };
  static constexpr size_t kHeader = std::max(sizeof(Block), alignof(T));
  // Up to this size a vector grows to fit exactly; beyond, by a quarter of its size.
  static constexpr uint32_t kExactUpTo = 8;
  static_assert(alignof(T) <= alignof(std::max_align_t));

  void grow_for(uint32_t n) {
    if (n <= capacity()) return;
    reallocate(size() < kExactUpTo ? n : std::max(n, size() + size() / 4));
  }
  void reallocate(uint32_t n) {
    auto* fresh = static_cast<Block*>(std::malloc(kHeader + sizeof(T) * n));
    if (fresh == nullptr) throw std::bad_alloc();
    fresh->size = size();
    fresh->capacity = n;
    if (block_ != nullptr) {
      std::uninitialized_move(begin(), end(), fresh->items());
      std::destroy(begin(), end());
      std::free(block_);
    }
    block_ = fresh;
  }

  Block* block_ = nullptr;
};

}  // namespace segflow

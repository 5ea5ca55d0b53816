// Identifiers of the generator's synthetic people, formatted into caller buffers without
// allocating: userId, per-device anonymousId and device id, messageId and email. All are
// pure functions of (seed, user, device or sequence number), and distinct inputs always
// give distinct identifiers. Thread safety: immutable after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace segflow::generator {

class SyntheticIds {
 public:
  static constexpr size_t kUuidSize = 36;
  // Big enough for every identifier below.
  static constexpr size_t kMaxSize = 64;
  using Buffer = char[kMaxSize];

  explicit SyntheticIds(uint64_t seed);

  // "user-<n>", the id the shop's backend knows the person by.
  std::string_view user_id(Buffer& buf, uint32_t user) const;
  // A UUID per (person, device): the browser's / app's anonymous id.
  std::string_view anonymous_id(Buffer& buf, uint32_t user, uint32_t device) const;
  // A UUID per (person, device): the hardware / install id of context.device.id.
  std::string_view device_id(Buffer& buf, uint32_t user, uint32_t device) const;
  // A UUID per (person, sequence number of the person's events).
  std::string_view message_id(Buffer& buf, uint32_t user, uint32_t sequence) const;
  // "order-<user>-<n>".
  std::string_view order_id(Buffer& buf, uint32_t user, uint32_t order) const;
  // "firstname.lastname<user>@example.com" (or .net / .org).
  std::string_view email(Buffer& buf, uint32_t user) const;

 private:
  std::string_view uuid(Buffer& buf, uint64_t salt, uint64_t key) const;

  uint64_t seed_;
};

}  // namespace segflow::generator

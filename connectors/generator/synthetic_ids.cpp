#include "connectors/generator/synthetic_ids.h"

#include <array>
#include <charconv>
#include <cstring>

#include "connectors/generator/random.h"

namespace segflow::generator {

namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr uint64_t kAnonymousSalt = 0x616e6f6e796d6f75ULL;
constexpr uint64_t kDeviceSalt = 0x6465766963652d69ULL;
constexpr uint64_t kMessageSalt = 0x6d6573736167652dULL;

constexpr std::array<std::string_view, 16> kFirstNames = {
    "maria", "james", "sofia", "liam",  "yuki",  "arjun",  "emma",  "lucas",
    "chloe", "noah",  "ana",   "felix", "priya", "mateo", "hannah", "oliver"};
constexpr std::array<std::string_view, 16> kLastNames = {
    "garcia", "smith", "muller", "tanaka", "silva",  "patel", "martin", "brown",
    "rossi",  "dubois", "kim",   "nguyen", "jansen", "lopez", "wilson", "sato"};
constexpr std::array<std::string_view, 3> kDomains = {"example.com", "example.net",
                                                      "example.org"};

char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

char* put_number(char* p, uint64_t n) { return std::to_chars(p, p + 20, n).ptr; }

// Writes the 16 hex digits of `v`, most significant first, dashes before digits in `dashes`.
char* put_hex(char* p, uint64_t v, uint32_t dash_mask) {
  for (int i = 15; i >= 0; --i) {
    if (dash_mask & (1u << (15 - i))) *p++ = '-';
    *p++ = kHex[(v >> (i * 4)) & 0xf];
  }
  return p;
}

}  // namespace

SyntheticIds::SyntheticIds(uint64_t seed) : seed_(mix64(seed)) {}

std::string_view SyntheticIds::uuid(Buffer& buf, uint64_t salt, uint64_t key) const {
  // `high` is a bijection of `key`, so distinct keys give distinct UUIDs.
  const uint64_t high = mix64(key ^ mix64(seed_ ^ salt));
  const uint64_t low = mix64(high + seed_);
  char* p = put_hex(buf, high, (1u << 8) | (1u << 12));  // xxxxxxxx-xxxx-xxxx
  p = put_hex(p, low, (1u << 0) | (1u << 4));            // -xxxx-xxxxxxxxxxxx
  return {buf, static_cast<size_t>(p - buf)};
}

std::string_view SyntheticIds::user_id(Buffer& buf, uint32_t user) const {
  char* p = put_number(put(buf, "user-"), user);
  return {buf, static_cast<size_t>(p - buf)};
}

std::string_view SyntheticIds::anonymous_id(Buffer& buf, uint32_t user, uint32_t device) const {
  return uuid(buf, kAnonymousSalt, (static_cast<uint64_t>(user) << 8) | device);
}

std::string_view SyntheticIds::device_id(Buffer& buf, uint32_t user, uint32_t device) const {
  return uuid(buf, kDeviceSalt, (static_cast<uint64_t>(user) << 8) | device);
}

std::string_view SyntheticIds::message_id(Buffer& buf, uint32_t user, uint32_t sequence) const {
  return uuid(buf, kMessageSalt, (static_cast<uint64_t>(user) << 32) | sequence);
}

std::string_view SyntheticIds::order_id(Buffer& buf, uint32_t user, uint32_t order) const {
  char* p = put_number(put(buf, "order-"), user);
  *p++ = '-';
  p = put_number(p, order);
  return {buf, static_cast<size_t>(p - buf)};
}

std::string_view SyntheticIds::email(Buffer& buf, uint32_t user) const {
  const uint64_t h = mix64(user ^ seed_);
  char* p = put(buf, kFirstNames[h % kFirstNames.size()]);
  *p++ = '.';
  p = put(p, kLastNames[(h >> 8) % kLastNames.size()]);
  p = put_number(p, user);
  *p++ = '@';
  p = put(p, kDomains[(h >> 16) % kDomains.size()]);
  return {buf, static_cast<size_t>(p - buf)};
}

}  // namespace segflow::generator

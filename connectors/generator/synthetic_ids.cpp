#include "connectors/generator/synthetic_ids.h"

#include <array>
#include <charconv>
#include <cstring>

#include "connectors/generator/random.h"

namespace segflow::generator {

namespace {

// "000102...ff": the two hex digits of every byte.
constexpr std::array<char, 512> kHexPairs = [] {
  constexpr char kDigits[] = "0123456789abcdef";
  std::array<char, 512> pairs{};
  for (int b = 0; b < 256; ++b) {
    pairs[2 * b] = kDigits[b >> 4];
    pairs[2 * b + 1] = kDigits[b & 0xf];
  }
  return pairs;
}();
constexpr uint64_t kAnonymousSalt = 0x616e6f6e796d6f75ULL;
constexpr uint64_t kDeviceSalt = 0x6465766963652d69ULL;
constexpr uint64_t kMessageSalt = 0x6d6573736167652dULL;

constexpr std::array<std::string_view, 16> kFirstNames = {
    "maria", "james", "sofia", "liam",  "yuki",  "arjun", "emma",   "lucas",
    "chloe", "noah",  "ana",   "felix", "priya", "mateo", "hannah", "oliver"};
constexpr std::array<std::string_view, 16> kLastNames = {
    "garcia", "smith",  "muller", "tanaka", "silva",  "patel", "martin", "brown",
    "rossi",  "dubois", "kim",    "nguyen", "jansen", "lopez", "wilson", "sato"};
constexpr std::array<std::string_view, 3> kDomains = {"example.com", "example.net", "example.org"};

char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

char* put_number(char* p, uint64_t n) { return std::to_chars(p, p + 20, n).ptr; }

// Writes the hex digits of bytes [first, last) of `v`, most significant byte first.
char* put_hex_bytes(char* p, uint64_t v, int first, int last) {
  for (int i = first; i < last; ++i) {
    const char* pair = &kHexPairs[2 * ((v >> (56 - 8 * i)) & 0xff)];
    *p++ = pair[0];
    *p++ = pair[1];
  }
  return p;
}

}  // namespace

SyntheticIds::SyntheticIds(uint64_t seed) : seed_(mix64(seed)) {}

std::string_view SyntheticIds::uuid(Buffer& buf, uint64_t salt, uint64_t key) const {
  // `high` is a bijection of `key`, so distinct keys give distinct UUIDs.
  const uint64_t high = mix64(key ^ mix64(seed_ ^ salt));
  const uint64_t low = mix64(high + seed_);
  // 8-4-4-4-12 hex digits: `high` gives the first 16, `low` the last 16.
  char* p = put_hex_bytes(buf, high, 0, 4);
  *p++ = '-';
  p = put_hex_bytes(p, high, 4, 6);
  *p++ = '-';
  p = put_hex_bytes(p, high, 6, 8);
  *p++ = '-';
  p = put_hex_bytes(p, low, 0, 2);
  *p++ = '-';
  p = put_hex_bytes(p, low, 2, 8);
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

#include "operators/segment/time_zone.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

namespace segflow {

namespace {

constexpr size_t kHeaderSize = 44;

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
int64_t be64(const unsigned char* p) {
  return static_cast<int64_t>((uint64_t{be32(p)} << 32) | be32(p + 4));
}

struct Counts {
  uint32_t isutc, isstd, leap, time, type, chars;
  size_t body(size_t time_size) const {
    return time * time_size + time + type * 6 + chars + leap * (time_size + 4) + isstd + isutc;
  }
};

Counts read_counts(const unsigned char* h) {
  return {be32(h + 20), be32(h + 24), be32(h + 28), be32(h + 32), be32(h + 36), be32(h + 40)};
}

bool plausible_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/') return false;
  if (name.find("..") != std::string_view::npos) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
           c == '+';
  });
}

}  // namespace

std::shared_ptr<const TimeZone> TimeZone::parse(std::string_view tzif) {
  const auto* data = reinterpret_cast<const unsigned char*>(tzif.data());
  if (tzif.size() < kHeaderSize || std::memcmp(data, "TZif", 4) != 0) return nullptr;
  Counts c = read_counts(data);
  size_t time_size = 4;
  const unsigned char* body = data + kHeaderSize;
  size_t remaining = tzif.size() - kHeaderSize;
  if (data[4] >= '2') {  // skip the 32-bit block; use the 64-bit one after it
    const size_t v1 = c.body(4);
    if (remaining < v1 + kHeaderSize) return nullptr;
    const unsigned char* h2 = body + v1;
    if (std::memcmp(h2, "TZif", 4) != 0) return nullptr;
    c = read_counts(h2);
    body = h2 + kHeaderSize;
    remaining -= v1 + kHeaderSize;
    time_size = 8;
  }
  if (c.type == 0 || c.type > 256 || remaining < c.body(time_size)) return nullptr;
  auto zone = std::make_shared<TimeZone>();
  const unsigned char* types = body + c.time * time_size + c.time;
  auto offset_of = [&](uint32_t type) { return static_cast<int32_t>(be32(types + type * 6)); };
  for (uint32_t i = 0; i < c.time; ++i) {
    const unsigned char* t = body + i * time_size;
    const int64_t when = time_size == 8 ? be64(t) : static_cast<int32_t>(be32(t));
    const uint8_t type = body[c.time * time_size + i];
    if (type >= c.type) return nullptr;
    if (!zone->transitions_.empty() && when <= zone->transitions_.back()) return nullptr;
    zone->transitions_.push_back(when);
    zone->offsets_.push_back(offset_of(type));
  }
  zone->initial_offset_ = offset_of(0);
  return zone;
}

std::shared_ptr<const TimeZone> TimeZone::find(std::string_view name) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const TimeZone>, std::less<>> cache;
  std::lock_guard lock(mutex);
  if (const auto it = cache.find(name); it != cache.end()) return it->second;
  std::shared_ptr<const TimeZone> zone;
  if (plausible_name(name)) {
    std::ifstream in("/usr/share/zoneinfo/" + std::string(name), std::ios::binary);
    if (in) {
      std::ostringstream bytes;
      bytes << in.rdbuf();
      zone = parse(bytes.str());
    }
  }
  if (cache.size() < 4096) cache.emplace(std::string(name), zone);
  return zone;
}

int64_t TimeZone::offset_seconds(int64_t utc_ms) const {
  const int64_t seconds = utc_ms >= 0 ? utc_ms / 1000 : -((-utc_ms + 999) / 1000);
  const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), seconds);
  if (it == transitions_.begin()) return initial_offset_;
  return offsets_[static_cast<size_t>(it - transitions_.begin()) - 1];
}

LocalTime LocalTime::at(int64_t utc_ms, int64_t offset_seconds) {
  constexpr int64_t kDayMs = 86'400'000;
  constexpr int64_t kLimit = int64_t{1} << 60;  // far beyond any real time; no overflow
  const int64_t local = std::clamp(utc_ms, -kLimit, kLimit) + offset_seconds * 1000;
  int64_t day = local / kDayMs;
  int64_t in_day = local % kDayMs;
  if (in_day < 0) {
    in_day += kDayMs;
    --day;
  }
  LocalTime t;
  t.hour = static_cast<int>(in_day / 3'600'000);
  // 1970-01-01 was a Thursday (ISO 4).
  t.weekday = static_cast<int>(((day + 3) % 7 + 7) % 7) + 1;
  return t;
}

}  // namespace segflow

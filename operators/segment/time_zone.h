// TimeZone: UTC offsets of one IANA time zone ("Europe/Berlin"), read from the system's
// compiled tz database (/usr/share/zoneinfo, TZif files of the Debian `tzdata` package), for
// rules on a profile's local hour and day of week. Times past the file's last transition use
// its last offset (Debian ships "fat" files with transitions to 2037).
// Thread safety: TimeZone is immutable; TimeZone::find may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace segflow {

class TimeZone {
 public:
  // The zone named `name`, loaded once per process and cached; nullptr when the name is not
  // a zone of the database (or not a plausible zone name).
  static std::shared_ptr<const TimeZone> find(std::string_view name);
  // Parses TZif data (versions 1-3); nullptr when malformed.
  static std::shared_ptr<const TimeZone> parse(std::string_view tzif);

  // Offset from UTC, in seconds, at `utc_ms`.
  int64_t offset_seconds(int64_t utc_ms) const;

 private:
  std::vector<int64_t> transitions_;  // UTC seconds, ascending
  std::vector<int32_t> offsets_;      // offset from transitions_[i] on
  int32_t initial_offset_ = 0;        // before the first transition
};

// Local hour (0-23) and ISO day of week (1 = Monday .. 7 = Sunday) of `utc_ms` shifted by
// `offset_seconds`.
struct LocalTime {
  int hour = 0;
  int weekday = 1;
  static LocalTime at(int64_t utc_ms, int64_t offset_seconds);
};

}  // namespace segflow

#include "connectors/json/iso8601.h"

#include <chrono>

namespace segflow {

namespace {

// Reads exactly `n` decimal digits from the front of `text`.
bool take_digits(std::string_view& text, size_t n, int& value) {
  if (text.size() < n) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  value = v;
  text.remove_prefix(n);
  return true;
}

bool take_char(std::string_view& text, char c) {
  if (text.empty() || text.front() != c) return false;
  text.remove_prefix(1);
  return true;
}

}  // namespace

bool is_valid_date(int year, unsigned month, unsigned day) {
  if (year < 0 || year > 9999) return false;
  const std::chrono::year_month_day ymd{std::chrono::year(year), std::chrono::month(month),
                                        std::chrono::day(day)};
  return ymd.ok();
}

int64_t civil_to_epoch_ms(int year, unsigned month, unsigned day, int hour, int minute, int second,
                          int millisecond) {
  const std::chrono::sys_days days{std::chrono::year_month_day{
      std::chrono::year(year), std::chrono::month(month), std::chrono::day(day)}};
  const int64_t seconds = static_cast<int64_t>(days.time_since_epoch().count()) * 86'400 +
                          hour * 3'600 + minute * 60 + second;
  return seconds * 1'000 + millisecond;
}

bool parse_zone_suffix(std::string_view text, int64_t& offset_ms) {
  if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (text.empty() || text == "Z" || text == "z" || text == "UTC" || text == "GMT") {
    offset_ms = 0;
    return true;
  }
  const char sign = text.front();
  if (sign != '+' && sign != '-') return false;
  text.remove_prefix(1);
  int hours = 0;
  int minutes = 0;
  if (!take_digits(text, 2, hours)) return false;
  if (!text.empty()) {
    take_char(text, ':');
    if (!take_digits(text, 2, minutes) || !text.empty()) return false;
  }
  if (hours > 23 || minutes > 59) return false;
  offset_ms = (sign == '-' ? -1 : 1) * (hours * 3'600 + minutes * 60) * int64_t{1'000};
  return true;
}

bool parse_iso8601(std::string_view text, int64_t& epoch_ms) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  if (!take_digits(text, 4, year) || !take_char(text, '-') || !take_digits(text, 2, month) ||
      !take_char(text, '-') || !take_digits(text, 2, day)) {
    return false;
  }
  if (text.empty() || (text.front() != 'T' && text.front() != 't' && text.front() != ' '))
    return false;
  text.remove_prefix(1);
  if (!take_digits(text, 2, hour) || !take_char(text, ':') || !take_digits(text, 2, minute))
    return false;
  if (take_char(text, ':')) {
    if (!take_digits(text, 2, second)) return false;
    if (!text.empty() && (text.front() == '.' || text.front() == ',')) {
      text.remove_prefix(1);
      size_t digits = 0;
      while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
        if (digits < 3) millis = millis * 10 + (text[digits] - '0');
        ++digits;
      }
      if (digits == 0) return false;
      for (size_t d = digits; d < 3; ++d) millis *= 10;
      text.remove_prefix(digits);
    }
  }
  if (hour > 23 || minute > 59 || second > 59) return false;
  if (!is_valid_date(year, static_cast<unsigned>(month), static_cast<unsigned>(day))) return false;
  int64_t offset_ms = 0;
  if (!parse_zone_suffix(text, offset_ms)) return false;
  const int64_t ms = civil_to_epoch_ms(year, static_cast<unsigned>(month),
                                       static_cast<unsigned>(day), hour, minute, second, millis) -
                     offset_ms;
  if (!is_valid_event_time(ms)) return false;
  epoch_ms = ms;
  return true;
}

}  // namespace segflow

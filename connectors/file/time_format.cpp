#include "connectors/file/time_format.h"

#include <array>
#include <charconv>

#include "connectors/json/iso8601.h"

namespace segflow {

namespace {

constexpr std::string_view kKnownDirectives = "YmdHMSfzbFT%";

// Reads between min_digits and max_digits decimal digits from the front of `text`.
bool take_number(std::string_view& text, size_t min_digits, size_t max_digits, int& value) {
  size_t n = 0;
  int v = 0;
  while (n < max_digits && n < text.size() && text[n] >= '0' && text[n] <= '9') {
    v = v * 10 + (text[n] - '0');
    ++n;
  }
  if (n < min_digits) return false;
  value = v;
  text.remove_prefix(n);
  return true;
}

bool take_month_name(std::string_view& text, int& month) {
  static constexpr std::array<std::string_view, 12> kNames = {
      "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  if (text.size() < 3) return false;
  char lower[3];
  for (size_t i = 0; i < 3; ++i) lower[i] = static_cast<char>(text[i] | 0x20);
  for (size_t m = 0; m < kNames.size(); ++m) {
    if (std::string_view(lower, 3) == kNames[m]) {
      month = static_cast<int>(m) + 1;
      text.remove_prefix(3);
      return true;
    }
  }
  return false;
}

// Length of the zone at the front of `text` (what %z accepts), or 0.
size_t zone_length(std::string_view text) {
  if (text.empty()) return 0;
  if (text.front() == 'Z' || text.front() == 'z') return 1;
  if (text.starts_with("UTC") || text.starts_with("GMT")) return 3;
  if (text.front() != '+' && text.front() != '-') return 0;
  size_t n = 1;
  while (n < text.size() && n < 6 && ((text[n] >= '0' && text[n] <= '9') || text[n] == ':')) ++n;
  return n;
}

// Seconds (with an optional fraction) or milliseconds since the epoch.
bool parse_epoch(std::string_view text, int64_t scale, int64_t& epoch_ms) {
  int64_t whole = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, whole);
  if (ec != std::errc() || p == text.data()) return false;
  int64_t fraction_ms = 0;
  if (p != end && *p == '.') {
    ++p;
    int64_t unit = scale / 10;
    const char* digits = p;
    for (; p != end && *p >= '0' && *p <= '9'; ++p) {
      fraction_ms += (*p - '0') * unit;
      unit /= 10;
    }
    if (p == digits) return false;
  }
  if (p != end) return false;
  if (whole > kLatestEventTime / scale || whole < kEarliestEventTime / scale) return false;
  const int64_t ms = whole * scale + (whole < 0 ? -fraction_ms : fraction_ms);
  if (!is_valid_event_time(ms)) return false;
  epoch_ms = ms;
  return true;
}

}  // namespace

std::optional<TimeFormat> TimeFormat::make(const std::string& spec, std::string& error) {
  TimeFormat f;
  f.spec_ = spec;
  if (spec == "iso8601") {
    f.kind_ = Kind::kIso8601;
  } else if (spec == "epoch_s") {
    f.kind_ = Kind::kEpochSeconds;
  } else if (spec == "epoch_ms") {
    f.kind_ = Kind::kEpochMillis;
  } else if (spec.empty()) {
    error = "empty time format";
    return std::nullopt;
  } else {
    for (size_t i = 0; i < spec.size(); ++i) {
      if (spec[i] != '%') continue;
      if (i + 1 == spec.size() || kKnownDirectives.find(spec[i + 1]) == std::string_view::npos) {
        error = "unknown directive '" + spec.substr(i, 2) +
                "' in time format (use iso8601, epoch_s, epoch_ms or %Y %m %d %H %M %S %f %z "
                "%b %F %T %%)";
        return std::nullopt;
      }
      ++i;
    }
    f.kind_ = Kind::kPattern;
  }
  return f;
}

bool TimeFormat::parse_time(std::string_view text, int64_t& epoch_ms) const {
  switch (kind_) {
    case Kind::kIso8601:
      return parse_iso8601(text, epoch_ms);
    case Kind::kEpochSeconds:
      return parse_epoch(text, 1'000, epoch_ms);
    case Kind::kEpochMillis:
      return parse_epoch(text, 1, epoch_ms);
    case Kind::kPattern:
      return parse_pattern(text, epoch_ms);
  }
  return false;
}

bool TimeFormat::parse_pattern(std::string_view text, int64_t& epoch_ms) const {
  int year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, millis = 0;
  int64_t offset_ms = 0;
  // Expands %F and %T so the loop below sees only single fields.
  auto step = [&](char directive, std::string_view& t) -> bool {
    switch (directive) {
      case 'Y':
        return take_number(t, 4, 4, year);
      case 'm':
        return take_number(t, 1, 2, month);
      case 'd':
        return take_number(t, 1, 2, day);
      case 'H':
        return take_number(t, 1, 2, hour);
      case 'M':
        return take_number(t, 1, 2, minute);
      case 'S':
        return take_number(t, 1, 2, second);
      case 'b':
        return take_month_name(t, month);
      case 'f': {
        size_t n = 0;
        millis = 0;
        while (n < t.size() && n < 9 && t[n] >= '0' && t[n] <= '9') {
          if (n < 3) millis = millis * 10 + (t[n] - '0');
          ++n;
        }
        if (n == 0) return false;
        for (size_t k = n; k < 3; ++k) millis *= 10;
        t.remove_prefix(n);
        return true;
      }
      case 'z': {
        const size_t n = zone_length(t);
        if (n == 0 || !parse_zone_suffix(t.substr(0, n), offset_ms)) return false;
        t.remove_prefix(n);
        return true;
      }
      default:
        return false;
    }
  };
  auto literal = [](char c, std::string_view& t) {
    if (t.empty() || t.front() != c) return false;
    t.remove_prefix(1);
    return true;
  };
  const std::string_view pattern = spec_;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') {
      if (!literal(pattern[i], text)) return false;
      continue;
    }
    const char d = pattern[++i];
    bool ok = true;
    if (d == '%') {
      ok = literal('%', text);
    } else if (d == 'F') {
      ok = step('Y', text) && literal('-', text) && step('m', text) && literal('-', text) &&
           step('d', text);
    } else if (d == 'T') {
      ok = step('H', text) && literal(':', text) && step('M', text) && literal(':', text) &&
           step('S', text);
    } else {
      ok = step(d, text);
    }
    if (!ok) return false;
  }
  if (!text.empty()) {
    int64_t trailing_offset = 0;
    if (!parse_zone_suffix(text, trailing_offset)) return false;
    offset_ms += trailing_offset;
  }
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return false;
  if (!is_valid_date(year, static_cast<unsigned>(month), static_cast<unsigned>(day))) return false;
  const int64_t ms = civil_to_epoch_ms(year, static_cast<unsigned>(month),
                                       static_cast<unsigned>(day), hour, minute, second, millis) -
                     offset_ms;
  if (!is_valid_event_time(ms)) return false;
  epoch_ms = ms;
  return true;
}

}  // namespace segflow

#include "connectors/webhook/retry_after.h"

#include <time.h>

#include <algorithm>
#include <cctype>
#include <string>

namespace segflow {

namespace {

constexpr int64_t kMaxSeconds = int64_t{1} << 31;  // beyond any sensible wait; avoids overflow

std::optional<int64_t> delay_seconds(std::string_view value) {
  if (value.empty() || value.size() > 18) return std::nullopt;
  int64_t seconds = 0;
  for (const char c : value) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    seconds = std::min(seconds * 10 + (c - '0'), kMaxSeconds);
  }
  return seconds * 1000;
}

std::optional<int64_t> http_date(std::string_view value,
                                 std::chrono::system_clock::time_point now) {
  const std::string text(value);
  // IMF-fixdate, then the obsolete RFC 850 and asctime forms (RFC 9110 5.6.7).
  for (const char* format :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
    std::tm tm{};
    const char* end = strptime(text.c_str(), format, &tm);
    if (end == nullptr || *end != '\0') continue;
    const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
    const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(at - now).count();
    return std::max<int64_t>(ms, 0);
  }
  return std::nullopt;
}

}  // namespace

std::optional<int64_t> retry_after_ms(std::string_view value,
                                      std::chrono::system_clock::time_point now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (auto ms = delay_seconds(value)) return ms;
  return http_date(value, now);
}

}  // namespace segflow

// retry_after_ms: how long an HTTP `Retry-After` header value (RFC 9110 10.2.3) asks a
// client to wait: delay-seconds ("120") or an HTTP-date ("Fri, 31 Dec 1999 23:59:59 GMT",
// and the obsolete RFC 850 and asctime forms), relative to `now`. A date in the past means
// 0; an unparsable value means nullopt (the caller keeps its own backoff).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace segflow {

std::optional<int64_t> retry_after_ms(std::string_view value,
                                      std::chrono::system_clock::time_point now);

}  // namespace segflow

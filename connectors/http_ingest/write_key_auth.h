// Write-key authentication as Segment's HTTP Tracking API does it: HTTP Basic auth with the
// write key as the user name and an empty password, or a `writeKey` field in the body.
// Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace segflow {

// The user name of an `Authorization: Basic <base64(user:password)>` header value;
// nullopt when the header is not Basic auth or is not valid base64.
std::optional<std::string> basic_auth_user(std::string_view authorization);

}  // namespace segflow

// Inflating gzip-encoded HTTP request bodies (Content-Encoding: gzip) with a cap on the
// inflated size, so a small compressed body cannot expand into unbounded memory. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace segflow {

enum class GunzipStatus { kOk, kTooLarge, kCorrupt };

// Inflates the gzip stream `compressed` into `out` (replacing its contents); kTooLarge when
// the inflated data would exceed `max_bytes`, kCorrupt when it is not a complete gzip stream.
GunzipStatus gunzip_body(std::string_view compressed, size_t max_bytes, std::string& out);

}  // namespace segflow

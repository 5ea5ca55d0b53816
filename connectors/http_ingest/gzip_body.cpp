#include "connectors/http_ingest/gzip_body.h"

#include <zlib.h>

#include <algorithm>

namespace segflow {

GunzipStatus gunzip_body(std::string_view compressed, size_t max_bytes, std::string& out) {
  out.clear();
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return GunzipStatus::kCorrupt;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z.avail_in = static_cast<uInt>(compressed.size());
  GunzipStatus status = GunzipStatus::kCorrupt;
  constexpr size_t kChunk = 64 * 1024;
  for (;;) {
    const size_t used = out.size();
    // One byte beyond the cap tells "exactly max_bytes" apart from "more".
    const size_t room = std::min(kChunk, max_bytes + 1 - used);
    out.resize(used + room);
    z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
    z.avail_out = static_cast<uInt>(room);
    const int rc = inflate(&z, Z_NO_FLUSH);
    out.resize(used + room - z.avail_out);
    if (out.size() > max_bytes) {
      status = GunzipStatus::kTooLarge;
      break;
    }
    if (rc == Z_STREAM_END) {
      status = z.avail_in == 0 ? GunzipStatus::kOk : GunzipStatus::kCorrupt;
      break;
    }
    if (rc != Z_OK || (z.avail_in == 0 && z.avail_out != 0)) break;  // error or truncated
  }
  inflateEnd(&z);
  if (status != GunzipStatus::kOk) out.clear();
  return status;
}

}  // namespace segflow

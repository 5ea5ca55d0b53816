#include "connectors/http_ingest/gzip_body.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>

namespace segflow {
namespace {

// gzip-compresses `text` with zlib (the format of Content-Encoding: gzip).
std::string gzip(const std::string& text) {
  z_stream z{};
  EXPECT_EQ(
      deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
      Z_OK);
  std::string out(deflateBound(&z, text.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  z.avail_in = static_cast<uInt>(text.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

TEST(GzipBodyTest, InflatesWithinTheLimit) {
  const std::string text(200'000, 'x');
  std::string out;
  EXPECT_EQ(gunzip_body(gzip(text), text.size(), out), GunzipStatus::kOk);
  EXPECT_EQ(out, text);
}

TEST(GzipBodyTest, RefusesToInflatePastTheLimit) {
  const std::string compressed = gzip(std::string(200'000, 'x'));
  std::string out;
  EXPECT_EQ(gunzip_body(compressed, 199'999, out), GunzipStatus::kTooLarge);
  EXPECT_TRUE(out.empty());
}

TEST(GzipBodyTest, RejectsTruncatedAndForeignData) {
  const std::string compressed = gzip("{\"event\":\"x\"}");
  std::string out;
  EXPECT_EQ(gunzip_body(compressed.substr(0, compressed.size() - 5), 1024, out),
            GunzipStatus::kCorrupt);
  EXPECT_EQ(gunzip_body("{\"event\":\"x\"}", 1024, out), GunzipStatus::kCorrupt);
  EXPECT_EQ(gunzip_body("", 1024, out), GunzipStatus::kCorrupt);
  EXPECT_EQ(gunzip_body(compressed + "junk", 1024, out), GunzipStatus::kCorrupt);
}

}  // namespace
}  // namespace segflow

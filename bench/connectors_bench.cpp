// Throughput of the input side: Segment JSON decoding, CSV row decoding, and the file
// source replaying a real dataset (records per second on one core).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>

#include <yaml-cpp/yaml.h>

#include "connectors/file/csv_row_decoder.h"
#include "connectors/file/file_source.h"
#include "connectors/json/segment_decoder.h"

namespace segflow {
namespace {

// A track call as analytics.js sends it (about 900 bytes).
constexpr const char* kTrackEvent =
    R"({"anonymousId":"507f191e-810c-4197-9a8c-5a0a1f5b9b7e","context":{"ip":"8.8.8.8",)"
    R"("library":{"name":"analytics.js","version":"4.1.0"},"locale":"en-US",)"
    R"("location":{"country":"FR","city":"Lyon"},"page":{"path":"/cart",)"
    R"("referrer":"https://www.google.com/","title":"Cart","url":"https://shop.example/cart"},)"
    R"("device":{"type":"desktop","id":"dev-42"},"traits":{"email":"ada@example.com"},)"
    R"("userAgent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36"},)"
    R"("event":"Product Added","integrations":{"All":true},)"
    R"("messageId":"ajs-next-1717171717171-3f2a","originalTimestamp":"2024-05-01T12:00:00.123Z",)"
    R"("properties":{"cart_id":"c-88","product_id":"p-1234","sku":"G-32","category":"Games",)"
    R"("name":"Monopoly: 3rd Edition","brand":"Hasbro","variant":"200 pieces","price":18.99,)"
    R"("quantity":1,"coupon":"MAYDEALS","position":3,"url":"https://shop.example/p/1234",)"
    R"("tags":["board","family"]},"receivedAt":"2024-05-01T12:00:00.456Z",)"
    R"("sentAt":"2024-05-01T12:00:00.200Z","timestamp":"2024-05-01T12:00:00.123Z",)"
    R"("type":"track","userId":"user-97980cfea0067","writeKey":"abc"})";

void BM_SegmentDecode(benchmark::State& state) {
  SegmentDecoder decoder;
  Batch batch;
  const std::string json = kTrackEvent;
  size_t n = 0;
  for (auto _ : state) {
    if (!decoder.decode(json, batch).is_ok()) state.SkipWithError("decode failed");
    if (++n % 512 == 0) batch.clear();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json.size()));
}
BENCHMARK(BM_SegmentDecode);

void BM_CsvRowDecode(benchmark::State& state) {
  const CsvMapping mapping =
      CsvMapping::parse(ConfigNode(YAML::Load(R"(
key: user_id
event: { column: event_type, map: { view: Product Viewed, cart: Product Added } }
timestamp: { column: event_time, format: "%Y-%m-%d %H:%M:%S" }
properties: { product_id: product_id, category_id: category_id, category: category_code,
              brand: brand, price: price, session_id: user_session }
)"),
                                   std::make_shared<const std::string>("bench.yaml"), "csv"));
  CsvRowDecoder decoder(mapping, {"event_time", "event_type", "product_id", "category_id",
                                  "category_code", "brand", "price", "user_id", "user_session"});
  const std::string line =
      "2019-10-01 00:00:00 UTC,view,3900821,2053013552326770905,appliances.environment.water_"
      "heater,aqua,33.20,554748717,9333dfbd-b87a-4708-9857-6336556b0fcc";
  Batch batch;
  size_t n = 0;
  for (auto _ : state) {
    if (!decoder.decode(line, batch).is_ok()) state.SkipWithError("decode failed");
    if (++n % 512 == 0) batch.clear();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CsvRowDecode);

// The whole UCI Online Retail file (gzip CSV, 320,705 rows) through the file source. The data
// directory is $SEGFLOW_DATA_DIR, else ../shared/data (run from the repository root).
void BM_FileSourceUci(benchmark::State& state) {
  const char* env = std::getenv("SEGFLOW_DATA_DIR");
  const std::string data_dir = env != nullptr ? env : "../shared/data";
  const auto config = FileSource::Config::parse(ConfigNode(
      YAML::Load("path: " + data_dir +
                 "/uci-online-retail/online_retail_2010-12-01_to_2011-08-31.csv.gz\n"
                 "csv: {key: CustomerID, key_strip_decimal: true, event: Order Completed,\n"
                 "  timestamp: {column: InvoiceDate, format: '%Y-%m-%d %H:%M:%S'},\n"
                 "  properties: {sku: StockCode, name: Description, quantity: Quantity,\n"
                 "  price: UnitPrice, context.location.country: Country}}"),
      std::make_shared<const std::string>("bench.yaml"), ""));
  size_t records = 0;
  for (auto _ : state) {
    FileSource source(config);
    OperatorContext ctx;
    try {
      source.open(ctx);
    } catch (const std::exception& e) {
      state.SkipWithError(e.what());
      return;
    }
    Output out([&](BatchPtr& b) { records += b->size(); }, 512);
    while (source.poll(out) != SourceStatus::kEnd) {
    }
    out.flush();
  }
  state.SetItemsProcessed(static_cast<int64_t>(records));
}
BENCHMARK(BM_FileSourceUci)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace segflow

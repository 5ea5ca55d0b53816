// FileSource ("type: file"): replays a JSONL file of Segment events, or a CSV file through a
// column mapping, plain or gzip. Each line becomes one record or one dead letter (origin
// "<operator id>:<path>:<line>"). With sort_by_time it loads the whole file, stable-sorts it
// by event time, then replays it. With parallelism n, subtask i takes data lines i, i+n, ...
// Thread safety: one instance per subtask, used by that subtask's thread only.
//
// Example (Segment JSONL):
//   - { id: events, type: file, path: events.jsonl.gz }
// Example (REES46 clickstream):
//   - id: rees46
//     type: file
//     path: ../shared/data/rees46-ecommerce-behavior/rees46_2019-Oct_first_17k_events.csv
//     csv:
//       key: user_id
//       event: { column: event_type, map: { view: Product Viewed, cart: Product Added,
//                                            purchase: Order Completed } }
//       timestamp: { column: event_time, format: "%Y-%m-%d %H:%M:%S" }
//       properties: { product_id: product_id, category_id: { column: category_id, type: string },
//                     category: category_code, brand: brand, price: price, session_id: user_session
//                     }
// Example (Taobao, grouped by user, so sorted on load):
//   - id: taobao
//     type: file
//     path: ../shared/data/taobao-userbehavior/taobao_userbehavior_users_part1.csv
//     sort_by_time: true
//     csv:
//       key: user_id
//       event: { column: behavior_type, map: { pv: Product Viewed, cart: Product Added,
//                                               fav: Product Added to Wishlist, buy: Order
//                                               Completed } }
//       timestamp: { column: timestamp, format: epoch_s }
//       properties: { product_id: item_id, category_id: category_id }
// Example (UCI Online Retail, gzip; CustomerID "17850.0" becomes key "17850"):
//   - id: uci
//     type: file
//     path: ../shared/data/uci-online-retail/online_retail_2010-12-01_to_2011-08-31.csv.gz
//     csv:
//       key: CustomerID
//       key_strip_decimal: true
//       event: { column: InvoiceNo, prefix_map: { C: Order Cancelled, A: Debt Adjusted },
//                default: Order Completed }
//       timestamp: { column: InvoiceDate, format: "%Y-%m-%d %H:%M:%S" }
//       properties:
//         order_id: { column: InvoiceNo, type: string }
//         sku: { column: StockCode, type: string }
//         name: Description
//         quantity: Quantity
//         price: UnitPrice
//         context.location.country: Country
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/file/csv_mapping.h"
#include "connectors/file/line_reader.h"
#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class SegmentDecoder;
class CsvRowDecoder;

class FileSource final : public Source {
 public:
  enum class Format { kJsonl, kCsv };

  struct Config {
    std::string path;
    Format format = Format::kJsonl;
    std::string timestamp_field = "timestamp";  // jsonl only
    size_t max_event_bytes = 32768;             // longer lines: "event too large"
    bool sort_by_time = false;
    std::optional<CsvMapping> csv;  // set iff format is csv
    static Config parse(const ConfigNode& node);
  };

  static constexpr size_t kRecordsPerPoll = 512;
  static constexpr size_t kMaxLinesPerPoll = 8192;  // bounds a poll that only finds bad lines

  explicit FileSource(const Config& config);
  ~FileSource() override;

  // Opens the file (and reads the CSV header); throws std::runtime_error when it cannot.
  void open(OperatorContext& ctx) override;
  SourceStatus poll(Output& out) override;
  void snapshot(StateWriter& w) const override;
  void restore(StateReader& r) override;
  void close() override;

  // Lines read from the file so far, the header included.
  uint64_t lines_read() const { return reader_ ? reader_->line_number() : lines_read_at_close_; }
  uint64_t records_emitted() const { return records_emitted_; }
  uint64_t dead_lettered() const { return dead_lettered_; }

 private:
  struct StagedRecord {
    int64_t event_time;
    uint32_t batch;
    uint32_t index;
  };

  SourceStatus poll_lines(Output& out);
  SourceStatus poll_sorted(Output& out);
  void load_all();
  void skip_to_resume_point();
  // Reads and handles one line, decoding into `out` (an Output or a Batch); false at end of
  // file (or after a read error).
  template <class Sink>
  bool read_line(Sink& out);
  bool is_my_line(uint64_t line_number);
  void dead_letter(std::string_view reason, std::string_view payload);

  const Config config_;  // a copy: the decoders keep references into it
  std::unique_ptr<LineReader> reader_;
  std::unique_ptr<SegmentDecoder> json_;
  std::unique_ptr<CsvRowDecoder> csv_;
  uint64_t header_lines_ = 0;
  uint64_t lines_read_at_close_ = 0;
  bool at_end_ = false;
  uint64_t records_emitted_ = 0;
  uint64_t dead_lettered_ = 0;
  uint64_t bytes_unreported_ = 0;  // read since the last poll; then added to ctx().bytes_in
  bool send_dead_letters_ = true;  // off while re-reading lines already handled before a restore
  // Restore point: lines to skip (streaming) or records to skip (sorted).
  uint64_t resume_position_ = 0;
  uint64_t resume_offset_ = 0;  // byte offset of line resume_position_ + 1 (streaming)
  bool resume_loaded_ = false;

  // sort_by_time: the whole file, decoded, and the replay order.
  bool loaded_ = false;
  std::vector<std::unique_ptr<Batch>> staged_;  // not pooled: freed after the replay
  std::vector<StagedRecord> order_;
  size_t replayed_ = 0;
};

}  // namespace segflow

#include "connectors/file/file_source.h"

#include <algorithm>
#include <stdexcept>

#include "connectors/file/csv_row_decoder.h"
#include "connectors/json/segment_decoder.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("file", FileSource);

namespace {

// 1: resume line (or record, sorted) and loaded flag; 2: also the byte offset of that line.
constexpr uint64_t kStateVersion = 2;
constexpr size_t kStagingBatchSize = 4096;

FileSource::Format format_from_extension(const ConfigNode& node, std::string path) {
  if (path.ends_with(".gz")) path.resize(path.size() - 3);
  if (path.ends_with(".csv") || path.ends_with(".tsv")) return FileSource::Format::kCsv;
  if (path.ends_with(".jsonl") || path.ends_with(".ndjson") || path.ends_with(".json"))
    return FileSource::Format::kJsonl;
  node.fail_at("path", "cannot tell the format from the file name; add format: jsonl or csv");
}

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t") == std::string_view::npos;
}

}  // namespace

FileSource::Config FileSource::Config::parse(const ConfigNode& node) {
  Config c;
  c.path = node.string("path");
  if (c.path.empty()) node.fail_at("path", "path must not be empty");
  if (node.has("format")) {
    const std::string format = node.string("format");
    if (format == "jsonl")
      c.format = Format::kJsonl;
    else if (format == "csv")
      c.format = Format::kCsv;
    else
      node.fail_at("format", "unknown format '" + format + "' (jsonl, csv)");
  } else {
    c.format = format_from_extension(node, c.path);
  }
  c.max_event_bytes =
      static_cast<size_t>(node.integer("max_event_bytes", 32768, 64, int64_t{64} << 20));
  c.sort_by_time = node.boolean("sort_by_time", false);
  if (c.format == Format::kJsonl) {
    c.timestamp_field = node.string("timestamp_field", c.timestamp_field);
    if (c.timestamp_field.empty()) node.fail_at("timestamp_field", "must not be empty");
    if (node.has("csv")) node.fail_at("csv", "'csv' applies to format: csv only");
  } else {
    if (node.has("timestamp_field"))
      node.fail_at("timestamp_field", "for CSV files, set csv.timestamp instead");
    c.csv = CsvMapping::parse(node.child("csv"));
  }
  return c;
}

FileSource::FileSource(const Config& config) : config_(config) {}
FileSource::~FileSource() = default;

void FileSource::open(OperatorContext& ctx) {
  Source::open(ctx);
  reader_ = std::make_unique<LineReader>(config_.path, config_.max_event_bytes);
  if (config_.format == Format::kJsonl) {
    SegmentDecoder::Options options;
    options.timestamp_field = config_.timestamp_field;
    options.max_event_bytes = config_.max_event_bytes;
    json_ = std::make_unique<SegmentDecoder>(std::move(options));
    return;
  }
  const CsvMapping& mapping = *config_.csv;
  std::vector<std::string> header = mapping.columns;
  if (mapping.skip_header) {
    std::string_view line;
    const LineReader::Result r = reader_->next(line);
    header_lines_ = 1;
    if (r == LineReader::Result::kEnd) {
      at_end_ = true;  // empty file: nothing to map
      return;
    }
    if (r != LineReader::Result::kLine)
      throw std::runtime_error(config_.path + ": cannot read the CSV header line");
    if (header.empty()) {
      auto names = CsvRowDecoder::parse_header(line, mapping.delimiter);
      if (!names) throw std::runtime_error(config_.path + ": malformed CSV header line");
      header = std::move(*names);
    }
  }
  try {
    csv_ = std::make_unique<CsvRowDecoder>(mapping, std::move(header));
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(ctx.operator_id + ": " + config_.path + ": " + e.what());
  }
}

void FileSource::close() {
  lines_read_at_close_ = lines_read();
  reader_.reset();
  staged_.clear();
  order_.clear();
}

bool FileSource::is_my_line(uint64_t line_number) {
  const OperatorContext& c = ctx();
  if (c.parallelism <= 1) return true;
  return (line_number - header_lines_ - 1) % c.parallelism == c.subtask;
}

void FileSource::dead_letter(std::string_view reason, std::string_view payload) {
  ++dead_lettered_;
  if (!send_dead_letters_ || ctx().dead_letters == nullptr) return;
  std::string origin = ctx().operator_id;
  origin += ':';
  origin += config_.path;
  origin += ':';
  origin += std::to_string(reader_->line_number());
  ctx().dead_letters->send(origin, reason, payload);
}

template <class Sink>
bool FileSource::read_line(Sink& out) {
  std::string_view line;
  switch (reader_->next(line)) {
    case LineReader::Result::kEnd:
      return false;
    case LineReader::Result::kError: {
      std::string payload = reader_->error();
      if (!line.empty()) payload.append("; partial line: ").append(line);
      dead_letter("read error", payload);
      return false;
    }
    case LineReader::Result::kTooLong:
      if (is_my_line(reader_->line_number())) dead_letter("event too large", line);
      return true;
    case LineReader::Result::kLine:
      break;
  }
  if (is_blank(line) || !is_my_line(reader_->line_number())) return true;
  bytes_unreported_ += line.size() + 1;  // with its newline
  const DecodeResult r = json_ ? json_->decode(line, out) : csv_->decode(line, out);
  if (r.is_ok()) {
    ++records_emitted_;
  } else {
    dead_letter(r.why(), line);
  }
  return true;
}

void FileSource::skip_to_resume_point() {
  if (resume_offset_ > 0) {
    reader_->seek(resume_offset_, resume_position_);
    resume_offset_ = 0;
  }
  std::string_view line;
  while (!at_end_ && reader_->line_number() < resume_position_) {
    const LineReader::Result r = reader_->next(line);
    if (r == LineReader::Result::kEnd || r == LineReader::Result::kError) at_end_ = true;
  }
  resume_position_ = 0;
}

SourceStatus FileSource::poll_lines(Output& out) {
  if (resume_position_ > 0) skip_to_resume_point();
  if (at_end_) return SourceStatus::kEnd;
  const uint64_t emitted_before = records_emitted_;
  for (size_t lines = 0; lines < kMaxLinesPerPoll; ++lines) {
    if (records_emitted_ - emitted_before >= kRecordsPerPoll) break;
    if (!read_line(out)) {
      at_end_ = true;
      break;
    }
  }
  // Records emitted by this poll are reported as kMore; kEnd comes on the next, empty poll.
  return at_end_ && records_emitted_ == emitted_before ? SourceStatus::kEnd : SourceStatus::kMore;
}

void FileSource::load_all() {
  send_dead_letters_ = !resume_loaded_;  // before the restore, these went out already
  for (bool more = !at_end_; more;) {
    if (staged_.empty() || staged_.back()->size() >= kStagingBatchSize)
      staged_.push_back(std::make_unique<Batch>());
    more = read_line(*staged_.back());
  }
  at_end_ = true;
  send_dead_letters_ = true;
  for (uint32_t b = 0; b < staged_.size(); ++b) {
    const auto records = staged_[b]->records();
    for (uint32_t i = 0; i < records.size(); ++i)
      order_.push_back(StagedRecord{records[i].event_time, b, i});
  }
  std::stable_sort(order_.begin(), order_.end(), [](const StagedRecord& x, const StagedRecord& y) {
    return x.event_time < y.event_time;
  });
  // Records count as emitted when they are replayed.
  records_emitted_ = 0;
  replayed_ = std::min<size_t>(resume_position_, order_.size());
  resume_position_ = 0;
  loaded_ = true;
}

SourceStatus FileSource::poll_sorted(Output& out) {
  if (!loaded_) load_all();
  const size_t stop = std::min(order_.size(), replayed_ + kRecordsPerPoll);
  if (replayed_ == stop) {
    staged_.clear();  // replay done: give the memory back
    order_.clear();
    return SourceStatus::kEnd;
  }
  for (; replayed_ < stop; ++replayed_) {
    const StagedRecord& s = order_[replayed_];
    const Batch& batch = *staged_[s.batch];
    out.forward(batch, batch.records()[s.index]);
    ++records_emitted_;
  }
  return SourceStatus::kMore;
}

SourceStatus FileSource::poll(Output& out) {
  if (!reader_) return SourceStatus::kEnd;
  const SourceStatus status = config_.sort_by_time ? poll_sorted(out) : poll_lines(out);
  if (bytes_unreported_ > 0 && ctx().bytes_in != nullptr) {
    ctx().bytes_in->fetch_add(bytes_unreported_, std::memory_order_relaxed);
    bytes_unreported_ = 0;
  }
  return status;
}

void FileSource::snapshot(StateWriter& w) const {
  w.u64(kStateVersion);
  // A snapshot taken after a restore but before the first poll (which moves to the resume
  // point) must keep that resume point, not the reader's start of file.
  if (config_.sort_by_time) {
    w.u64(loaded_ ? replayed_ : resume_position_);
    w.u64(loaded_ || resume_loaded_ ? 1 : 0);
    w.u64(0);
  } else if (resume_position_ > 0) {
    w.u64(resume_position_);
    w.u64(0);
    w.u64(resume_offset_);
  } else {
    w.u64(lines_read());
    w.u64(0);
    w.u64(reader_ ? reader_->offset() : 0);
  }
}

void FileSource::restore(StateReader& r) {
  const uint64_t version = r.u64();
  if (version != 1 && version != kStateVersion)
    throw StateFormatError("file source: unknown state version");
  resume_position_ = r.u64();
  resume_loaded_ = r.u64() != 0;
  resume_offset_ = version >= 2 ? r.u64() : 0;
}

}  // namespace segflow

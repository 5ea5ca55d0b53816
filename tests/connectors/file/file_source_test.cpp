#include "connectors/file/file_source.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/registry.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using segflow::testing::read_lines;
using segflow::testing::TempDir;
using segflow::testing::write_file;

const std::string kDataDir = SEGFLOW_DATA_DIR;

FileSource::Config parse_config(const std::string& yaml) {
  const ConfigNode node(YAML::Load(yaml), std::make_shared<const std::string>("job.yaml"),
                        "sources[0]");
  FileSource::Config config = FileSource::Config::parse(node);
  node.finish();  // as the job loader does
  return config;
}

std::string config_error(const std::string& yaml) {
  return testing::spec_error_of([&] { parse_config(yaml); });
}

// The records a source emitted, with the batches that hold them.
struct Drained {
  std::vector<BatchPtr> batches;
  std::vector<size_t> per_poll;  // records emitted by each poll
  uint64_t lines_read = 0;

  size_t size() const {
    size_t n = 0;
    for (const BatchPtr& b : batches) n += b->size();
    return n;
  }
  template <class F>
  void each(F f) const {
    for (const BatchPtr& b : batches)
      for (const Record& r : b->records()) f(*b, r);
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    each([&](const Batch&, const Record& r) { out.emplace_back(r.key); });
    return out;
  }
};

struct SourceHarness {
  explicit SourceHarness(const FileSource::Config& config, DeadLetterOutput* dead_letters = nullptr,
                         uint32_t subtask = 0, uint32_t parallelism = 1)
      : source(config) {
    ctx.operator_id = "src";
    ctx.dead_letters = dead_letters;
    ctx.subtask = subtask;
    ctx.parallelism = parallelism;
  }
  void open() { source.open(ctx); }
  // Polls until kEnd (or `max_polls`), keeping every batch.
  void drain(Drained& into, size_t max_polls = SIZE_MAX) {
    Output out([&](BatchPtr& b) { into.batches.push_back(std::move(b)); }, 512);
    for (size_t polls = 0; polls < max_polls; ++polls) {
      const size_t before = out.emitted();
      const SourceStatus s = source.poll(out);
      into.per_poll.push_back(out.emitted() - before);
      out.flush();
      if (s == SourceStatus::kEnd) break;
      ASSERT_LT(polls, 1'000'000u) << "source never ended";
    }
    into.lines_read = source.lines_read();
  }
  Drained run() {
    open();
    Drained d;
    drain(d);
    source.close();
    d.lines_read = source.lines_read();
    return d;
  }

  OperatorContext ctx;
  FileSource source;
};

std::string jsonl_config(const std::string& path, const std::string& extra = "") {
  return "path: " + path + "\n" + extra;
}

void write_gzip(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, content.data(), static_cast<unsigned>(content.size())),
            static_cast<int>(content.size()));
  gzclose(f);
}

std::string track(const std::string& user, int64_t time_ms, const std::string& event = "E") {
  return R"({"type":"track","event":")" + event + R"(","userId":")" + user + R"(","timestamp":)" +
         std::to_string(time_ms) + "}";
}

// ---------------------------------------------------------------------------------------
// Configuration

TEST(FileSourceConfig, RegisteredAsFileSource) {
  const RegisteredType* t = Registry::global().find("file");
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(t->is_source);
}

TEST(FileSourceConfig, Defaults) {
  const auto c = parse_config("path: /x/events.jsonl.gz");
  EXPECT_EQ(c.format, FileSource::Format::kJsonl);
  EXPECT_EQ(c.timestamp_field, "timestamp");
  EXPECT_EQ(c.max_event_bytes, 32768u);
  EXPECT_FALSE(c.sort_by_time);
  EXPECT_FALSE(c.csv.has_value());
  EXPECT_EQ(parse_config("{path: a.ndjson}").format, FileSource::Format::kJsonl);
  EXPECT_EQ(parse_config("{path: a.data, format: jsonl, timestamp_field: sentAt, "
                         "max_event_bytes: 100, sort_by_time: true}")
                .timestamp_field,
            "sentAt");
}

TEST(FileSourceConfig, FullCsvMapping) {
  const auto c = parse_config(R"(
path: /x/data.csv.gz
sort_by_time: yes
csv:
  key: CustomerID
  key_strip_decimal: true
  delimiter: ";"
  event: { column: InvoiceNo, map: { "1": One }, prefix_map: { C: Cancelled }, default: Bought }
  timestamp: { column: InvoiceDate, format: "%Y-%m-%d %H:%M" }
  properties:
    price: UnitPrice
    sku: { column: StockCode, type: string }
    qty: { column: Quantity, type: int }
    context.location.country: Country
)");
  ASSERT_TRUE(c.csv.has_value());
  const CsvMapping& m = *c.csv;
  EXPECT_EQ(c.format, FileSource::Format::kCsv);
  EXPECT_TRUE(c.sort_by_time);
  EXPECT_EQ(m.delimiter, ';');
  EXPECT_EQ(m.key_column, "CustomerID");
  EXPECT_TRUE(m.key_strip_decimal);
  EXPECT_EQ(m.event.column, "InvoiceNo");
  ASSERT_EQ(m.event.values.size(), 1u);
  EXPECT_EQ(m.event.values[0].first, "1");
  ASSERT_EQ(m.event.prefixes.size(), 1u);
  EXPECT_EQ(symbol_name(m.event.fallback), "Bought");
  EXPECT_EQ(m.timestamp_column, "InvoiceDate");
  EXPECT_EQ(m.timestamp_format.spec(), "%Y-%m-%d %H:%M");
  ASSERT_EQ(m.properties.size(), 4u);
  EXPECT_EQ(symbol_name(m.properties[0].name), "properties.price");
  EXPECT_EQ(m.properties[1].kind, CsvMapping::ValueKind::kString);
  EXPECT_EQ(m.properties[2].kind, CsvMapping::ValueKind::kInteger);
  EXPECT_EQ(symbol_name(m.properties[3].name), "context.location.country");
}

TEST(FileSourceConfig, ConstantEventAndPlainTimestampColumn) {
  const auto c = parse_config("{path: a.csv, csv: {key: u, event: Order Completed, timestamp: t}}");
  EXPECT_EQ(symbol_name(c.csv->event.constant), "Order Completed");
  EXPECT_EQ(c.csv->timestamp_column, "t");
  EXPECT_EQ(c.csv->timestamp_format.spec(), "iso8601");
}

TEST(FileSourceConfig, ErrorsNameFileLineAndKey) {
  const std::pair<std::string, std::string> cases[] = {
      {"{format: jsonl}", "missing required field 'path'"},
      {"{path: a.txt}", "cannot tell the format"},
      {"{path: a.jsonl, format: xml}", "unknown format 'xml'"},
      {"{path: a.jsonl, max_event_bytes: lots}", "expected an integer"},
      {"{path: a.jsonl, max_event_bytes: 10}", "must be between"},
      {"{path: a.jsonl, sort_by_time: maybe}", "expected true or false"},
      {"{path: a.jsonl, csv: {key: k}}", "'csv' applies to format: csv only"},
      {"{path: a.csv}", "missing required field 'csv'"},
      {"{path: a.csv, timestamp_field: t, csv: {key: k, event: e, timestamp: t}}", "csv.timestamp"},
      {"{path: a.csv, csv: {event: e, timestamp: t}}", "missing required field 'key'"},
      {"{path: a.csv, csv: {key: k, timestamp: t}}", "missing required field 'event'"},
      {"{path: a.csv, csv: {key: k, event: e}}", "missing required field 'timestamp'"},
      {"{path: a.csv, csv: {key: k, event: e, timestamp: t, colour: red}}", "unknown key 'colour'"},
      {"{path: a.csv, csv: {key: k, event: {column: e, mapping: {}}, timestamp: t}}",
       "unknown key 'mapping'"},
      {"{path: a.csv, csv: {key: k, event: {map: {a: b}}, timestamp: t}}",
       "missing required field 'column'"},
      {"{path: a.csv, csv: {key: k, event: e, timestamp: {column: t, format: '%Q'}}}",
       "unknown directive '%Q'"},
      {"{path: a.csv, csv: {key: k, event: e, timestamp: {column: t, zone: x}}}",
       "unknown key 'zone'"},
      {"{path: a.csv, csv: {key: k, event: e, timestamp: t, properties: {p: {column: c, "
       "type: date}}}}",
       "unknown type 'date'"},
      {"{path: a.csv, csv: {key: k, event: e, timestamp: t, properties: {p: [a]}}}",
       "expected a single value"},
      {"{path: a.csv, csv: {key: k, event: e, timestamp: t, delimiter: ab}}",
       "must be one character"},
      {"{path: a.csv, csv: {key: k, event: e, timestamp: t, skip_header: false}}",
       "'columns' is required"},
      {"{path: a.csv, csv: {key: k, event: {column: e}, timestamp: t, columns: [k, t]}}",
       "column 'e' is used but not listed"},
  };
  for (const auto& [yaml, message] : cases) {
    const std::string error = config_error(yaml);
    EXPECT_NE(error.find(message), std::string::npos) << yaml << "\n  gave: " << error;
    EXPECT_EQ(error.rfind("job.yaml:1:", 0), 0u) << error;
  }
  // A key the file source does not know is left for the loader's finish() to reject.
  EXPECT_NE(config_error("{path: a.jsonl, colour: red}").find("unknown key 'colour'"),
            std::string::npos);
}

// ---------------------------------------------------------------------------------------
// JSONL

TEST(FileSourceJsonl, GoodBadAndBlankLinesAllAccountedFor) {
  TempDir dir;
  const std::string path = dir.file("events.jsonl");
  const std::string dl_path = dir.file("dead.jsonl");
  write_file(path, track("u1", 1000) + "\n" +                                        // 1
                       "\n" +                                                        // 2 blank
                       "{not json\n" +                                               // 3
                       R"({"type":"track","userId":"u2","timestamp":0})" + "\r\n" +  // 4
                       track("u3", 3000) + "\r\n" +                                  // 5 CRLF
                       "  \t \n" +                                                   // 6 blank
                       "{\"type\":\"track\",\"event\":\"\xC3\x28\",\"userId\":\"u\","
                       "\"timestamp\":0}\n" +  // 7
                       track("u4", 4000));     // 8, no newline
  DeadLetterOutput dead_letters(dl_path);
  SourceHarness h(parse_config(jsonl_config(path)), &dead_letters);
  const Drained d = h.run();
  dead_letters.flush();

  EXPECT_EQ(d.keys(), (std::vector<std::string>{"u1", "u3", "u4"}));
  EXPECT_EQ(d.lines_read, 8u);
  EXPECT_EQ(h.source.records_emitted(), 3u);
  EXPECT_EQ(h.source.dead_lettered(), 3u);
  EXPECT_EQ(dead_letters.total(), 3u);
  EXPECT_EQ(dead_letters.count("malformed json"), 1u);
  EXPECT_EQ(dead_letters.count("missing event"), 1u);
  EXPECT_EQ(dead_letters.count("invalid utf-8"), 1u);

  const auto lines = read_lines(dl_path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], R"({"origin":"src:)" + path +
                          R"(:3","reason":"malformed json","payload":"{not json"})");
  EXPECT_EQ(lines[1], R"({"origin":"src:)" + path +
                          R"(:4","reason":"missing event","payload":"{\"type\":\"track\",)"
                          R"(\"userId\":\"u2\",\"timestamp\":0}"})");
  EXPECT_NE(lines[2].find(R"("origin":"src:)" + path + R"(:7","reason":"invalid utf-8")"),
            std::string::npos);
}

TEST(FileSourceJsonl, GzipReadsLikePlain) {
  TempDir dir;
  std::string content;
  for (int i = 0; i < 2000; ++i) content += track("user-" + std::to_string(i), i) + "\n";
  write_file(dir.file("plain.jsonl"), content);
  write_gzip(dir.file("packed.jsonl.gz"), content);
  const Drained plain = SourceHarness(parse_config(jsonl_config(dir.file("plain.jsonl")))).run();
  const Drained packed =
      SourceHarness(parse_config(jsonl_config(dir.file("packed.jsonl.gz")))).run();
  EXPECT_EQ(plain.size(), 2000u);
  EXPECT_EQ(packed.keys(), plain.keys());
  EXPECT_EQ(packed.lines_read, 2000u);
}

TEST(FileSourceJsonl, ConcatenatedGzipMembers) {
  TempDir dir;
  const std::string a = dir.file("a.gz"), b = dir.file("b.gz");
  write_gzip(a, track("u1", 1) + "\n");
  write_gzip(b, track("u2", 2) + "\n");
  write_file(dir.file("both.jsonl.gz"),
             segflow::testing::read_file(a) + segflow::testing::read_file(b));
  const Drained d = SourceHarness(parse_config(jsonl_config(dir.file("both.jsonl.gz")))).run();
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"u1", "u2"}));
}

TEST(FileSourceJsonl, TruncatedGzipIsAReadErrorNotACrash) {
  TempDir dir;
  std::string content;
  for (int i = 0; i < 20000; ++i) content += track("user-" + std::to_string(i), i) + "\n";
  write_gzip(dir.file("full.gz"), content);
  const std::string packed = segflow::testing::read_file(dir.file("full.gz"));
  write_file(dir.file("cut.jsonl.gz"), packed.substr(0, packed.size() / 2));
  DeadLetterOutput dead_letters;
  SourceHarness h(parse_config(jsonl_config(dir.file("cut.jsonl.gz"))), &dead_letters);
  const Drained d = h.run();
  EXPECT_GT(d.size(), 1000u);
  EXPECT_LT(d.size(), 20000u);
  EXPECT_EQ(dead_letters.count("read error"), 1u);
  const auto keys = d.keys();
  for (size_t i = 0; i < keys.size(); ++i) ASSERT_EQ(keys[i], "user-" + std::to_string(i));
}

TEST(FileSourceJsonl, OversizedLinesAreDeadLetteredTruncated) {
  TempDir dir;
  const std::string path = dir.file("big.jsonl");
  const std::string dl_path = dir.file("dead.jsonl");
  const std::string huge = R"({"type":"track","event":"E","userId":"u","timestamp":0,"p":")" +
                           std::string(600'000, 'x') + "\"}";  // spans several read chunks
  const std::string medium = R"({"type":"track","event":"E","userId":"m","timestamp":0,"p":")" +
                             std::string(200, 'y') + "\"}";
  write_file(path, track("a", 1) + "\n" + huge + "\n" + medium + "\n" + track("b", 2) + "\n");
  DeadLetterOutput dead_letters(dl_path);
  SourceHarness h(parse_config(jsonl_config(path, "max_event_bytes: 128")), &dead_letters);
  const Drained d = h.run();
  dead_letters.flush();
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(dead_letters.count("event too large"), 2u);
  const auto lines = read_lines(dl_path);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(":2\",\"reason\":\"event too large\""), std::string::npos);
  EXPECT_LT(lines[0].size(), 400u) << "the payload is cut at max_event_bytes";

  // With a larger limit the same 600 kB line decodes.
  SourceHarness big(parse_config(jsonl_config(path, "max_event_bytes: 1000000")));
  EXPECT_EQ(big.run().keys(), (std::vector<std::string>{"a", "u", "m", "b"}));
}

TEST(FileSourceJsonl, LinesAcrossReadChunksAndBinaryJunk) {
  TempDir dir;
  const std::string path = dir.file("many.jsonl");
  std::string content;
  for (int i = 0; i < 30000; ++i) content += track("user-" + std::to_string(i), i) + "\n";
  content += std::string("\0\0{\x01\xff", 5) + "\n" + track("last", 1) + "\n";
  write_file(path, content);
  DeadLetterOutput dead_letters;
  SourceHarness h(parse_config(jsonl_config(path)), &dead_letters);
  const Drained d = h.run();
  ASSERT_EQ(d.size(), 30001u);
  const auto keys = d.keys();
  for (int i = 0; i < 30000; ++i) ASSERT_EQ(keys[i], "user-" + std::to_string(i));
  EXPECT_EQ(keys.back(), "last");
  EXPECT_EQ(dead_letters.total(), 1u);
  for (size_t n : d.per_poll) EXPECT_LE(n, FileSource::kRecordsPerPoll);
  EXPECT_EQ(d.per_poll.front(), FileSource::kRecordsPerPoll);
  EXPECT_EQ(d.per_poll.back(), 0u) << "kEnd comes on an empty poll";
}

TEST(FileSourceJsonl, TimestampFieldOption) {
  TempDir dir;
  const std::string path = dir.file("e.jsonl");
  write_file(path, R"({"type":"track","event":"E","userId":"u","sentAt":"1970-01-01T00:00:01Z"})");
  const Drained d =
      SourceHarness(parse_config(jsonl_config(path, "timestamp_field: sentAt"))).run();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d.batches[0]->records()[0].event_time, 1000);
}

TEST(FileSourceJsonl, MissingFileOrDirectoryThrowsAtOpen) {
  SourceHarness missing(parse_config("path: /nonexistent/dir/e.jsonl"));
  EXPECT_THROW(missing.open(), std::runtime_error);
  TempDir dir;
  std::filesystem::create_directory(dir.file("d.jsonl"));
  SourceHarness directory(parse_config("path: " + dir.file("d.jsonl")));
  EXPECT_THROW(directory.open(), std::runtime_error);
}

TEST(FileSourceJsonl, EmptyFileEndsAtOnce) {
  TempDir dir;
  write_file(dir.file("e.jsonl"), "");
  EXPECT_EQ(SourceHarness(parse_config(jsonl_config(dir.file("e.jsonl")))).run().size(), 0u);
}

TEST(FileSourceJsonl, SortByTimeIsStable) {
  TempDir dir;
  const std::string path = dir.file("e.jsonl");
  write_file(path, track("a", 30) + "\n" + track("b", 10) + "\nbad\n" + track("c", 20) + "\n" +
                       track("d", 10) + "\n" + track("e", 30) + "\n");
  DeadLetterOutput dead_letters;
  SourceHarness h(parse_config(jsonl_config(path, "sort_by_time: true")), &dead_letters);
  const Drained d = h.run();
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"b", "d", "c", "a", "e"}));
  EXPECT_EQ(dead_letters.count("malformed json"), 1u);
  EXPECT_EQ(h.source.records_emitted(), 5u);
}

TEST(FileSourceJsonl, SubtasksSplitTheLines) {
  TempDir dir;
  const std::string path = dir.file("e.jsonl");
  std::string content;
  for (int i = 0; i < 1000; ++i) content += track(std::to_string(i), i) + "\n";
  write_file(path, content);
  const auto config = parse_config(jsonl_config(path));
  std::multiset<std::string> all;
  for (uint32_t s = 0; s < 3; ++s) {
    const Drained d = SourceHarness(config, nullptr, s, 3).run();
    EXPECT_NEAR(static_cast<double>(d.size()), 333.0, 1.0);
    for (const std::string& k : d.keys()) all.insert(k);
  }
  EXPECT_EQ(all.size(), 1000u);
  EXPECT_EQ(std::set<std::string>(all.begin(), all.end()).size(), 1000u);
}

// Snapshot after a few polls, restore into a fresh source: it continues at the next line
// (by byte offset; by line count for `version1` state). `snapshot_before_poll`: the restored
// source is opened and snapshotted again before its first poll (a checkpoint right after a
// restart), and that state restored into a third source, which must continue at the same line.
void check_restore(const std::string& extra_config, bool gzip = false, bool version1 = false,
                   bool snapshot_before_poll = false) {
  TempDir dir;
  const std::string path = dir.file(gzip ? "e.jsonl.gz" : "e.jsonl");
  std::string content;
  for (int i = 0; i < 3000; ++i) {
    content += track(std::to_string(i), (i * 7919) % 3000) + "\n";
    if (i % 100 == 0) content += "bad line\n";
  }
  if (gzip)
    write_gzip(path, content);
  else
    write_file(path, content);
  const auto config = parse_config(jsonl_config(path, extra_config));
  const std::vector<std::string> expected = SourceHarness(config).run().keys();

  DeadLetterOutput first_dl;
  SourceHarness first(config, &first_dl);
  first.open();
  Drained before;
  first.drain(before, 3);
  StateWriter w;
  first.source.snapshot(w);
  if (version1) {  // the format before byte offsets: version, line, loaded flag
    StateReader full(w.data());
    full.u64();
    const uint64_t line = full.u64();
    const uint64_t loaded = full.u64();
    w = StateWriter();
    w.u64(1);
    w.u64(line);
    w.u64(loaded);
  }

  DeadLetterOutput second_dl;
  SourceHarness second(config, &second_dl);
  StateReader r(w.data());
  second.source.restore(r);
  if (snapshot_before_poll) {
    second.open();
    StateWriter again;
    second.source.snapshot(again);
    second.source.close();
    w = std::move(again);
  }
  SourceHarness third(config, &second_dl);
  if (snapshot_before_poll) {
    StateReader r2(w.data());
    third.source.restore(r2);
  }
  Drained after = snapshot_before_poll ? third.run() : second.run();

  std::vector<std::string> keys = before.keys();
  for (const std::string& k : after.keys()) keys.push_back(k);
  EXPECT_EQ(keys, expected);
  EXPECT_EQ(first_dl.total() + second_dl.total(), 30u) << "each bad line dead-lettered once";
}

TEST(FileSourceJsonl, RestoreResumesWhereTheSnapshotWas) { check_restore(""); }
TEST(FileSourceJsonl, RestoreResumesSortedReplay) { check_restore("sort_by_time: true"); }
TEST(FileSourceJsonl, RestoreResumesInAGzipFile) { check_restore("", /*gzip=*/true); }
TEST(FileSourceJsonl, SnapshotBeforeTheFirstPollKeepsTheRestoredPosition) {
  check_restore("", /*gzip=*/false, /*version1=*/false, /*snapshot_before_poll=*/true);
}
TEST(FileSourceJsonl, SnapshotBeforeTheFirstPollKeepsTheRestoredSortedPosition) {
  check_restore("sort_by_time: true", /*gzip=*/false, /*version1=*/false,
                /*snapshot_before_poll=*/true);
}
TEST(FileSourceJsonl, RestoreAcceptsLineOnlyState) {
  check_restore("", /*gzip=*/false, /*version1=*/true);
}

TEST(FileSourceJsonl, RestoreRejectsForeignState) {
  StateWriter w;
  w.u64(99);
  StateReader r(w.data());
  FileSource source(parse_config("path: x.jsonl"));
  EXPECT_THROW(source.restore(r), StateFormatError);
}

// ---------------------------------------------------------------------------------------
// CSV

// Dead-letter counts kept after the DeadLetterOutput is gone.
struct DeadLetterCounts {
  std::map<std::string, uint64_t> by_reason;
  uint64_t total() const {
    uint64_t n = 0;
    for (const auto& [reason, count] : by_reason) n += count;
    return n;
  }
  uint64_t count(const std::string& reason) const {
    auto it = by_reason.find(reason);
    return it == by_reason.end() ? 0 : it->second;
  }
  const std::map<std::string, uint64_t>& counts() const { return by_reason; }
};

struct CsvRun {
  Drained drained;
  DeadLetterCounts dead_letters;
  std::vector<std::string> dead_letter_lines;
};

std::unique_ptr<CsvRun> run_csv(const std::string& csv_yaml, const std::string& content,
                                const std::string& extra = "") {
  TempDir dir;
  const std::string path = dir.file("data.csv");
  write_file(path, content);
  auto run = std::make_unique<CsvRun>();
  {
    DeadLetterOutput dl(dir.file("dead.jsonl"));
    SourceHarness h(parse_config("path: " + path + "\n" + extra + "csv: " + csv_yaml), &dl);
    run->drained = h.run();
    dl.flush();
    run->dead_letters.by_reason = dl.counts();
  }
  run->dead_letter_lines = read_lines(dir.file("dead.jsonl"));
  return run;
}

const Value* prop(const Batch& b, const Record& r, const std::string& name) {
  return b.find(r, intern(name));
}

TEST(FileSourceCsv, QuotingTypingAndMapping) {
  const std::string content =
      "id,kind,when,price,note,sku\n"
      "u1,view,2024-05-01 12:00:00,12.50,plain,007\n"
      "u2,cart,2024-05-01 12:00:01 UTC,3,\"with, comma\",A1\n"
      "u3,other,2024-05-01 12:00:02,,\"say \"\"hi\"\", ok\",42\n"
      "u4,view,2024-05-01 12:00:03,-1e2,\"\",\"\"\n";
  auto run = run_csv(R"({key: id, event: {column: kind, map: {view: Product Viewed,
      cart: Product Added}}, timestamp: {column: when, format: "%Y-%m-%d %H:%M:%S"},
      properties: {price: price, note: note, sku: {column: sku, type: string}}})",
                     content);
  EXPECT_EQ(run->dead_letters.total(), 0u);
  ASSERT_EQ(run->drained.size(), 4u);
  const Batch& b = *run->drained.batches[0];
  const auto r = b.records();
  EXPECT_EQ(r[0].key, "u1");
  EXPECT_EQ(r[0].kind, EventKind::kTrack);
  EXPECT_EQ(symbol_name(r[0].event), "Product Viewed");
  EXPECT_EQ(symbol_name(r[1].event), "Product Added");
  EXPECT_EQ(symbol_name(r[2].event), "other") << "unmapped cells pass through";
  EXPECT_EQ(r[0].event_time, 1714564800000);
  EXPECT_EQ(r[1].event_time, 1714564801000) << "trailing UTC";
  EXPECT_EQ(*prop(b, r[0], "properties.price"), Value::real(12.5));
  EXPECT_EQ(*prop(b, r[1], "properties.price"), Value::integer(3));
  EXPECT_EQ(prop(b, r[2], "properties.price"), nullptr) << "empty cell = absent";
  EXPECT_EQ(*prop(b, r[3], "properties.price"), Value::real(-100.0));
  EXPECT_EQ(*prop(b, r[0], "properties.note"), Value::string("plain"));
  EXPECT_EQ(*prop(b, r[1], "properties.note"), Value::string("with, comma"));
  EXPECT_EQ(*prop(b, r[2], "properties.note"), Value::string("say \"hi\", ok"));
  EXPECT_EQ(prop(b, r[3], "properties.note"), nullptr);
  EXPECT_EQ(*prop(b, r[0], "properties.sku"), Value::string("007"));
  EXPECT_EQ(*prop(b, r[2], "properties.sku"), Value::string("42"));
}

TEST(FileSourceCsv, EveryDeadLetterReason) {
  const std::string content =
      "id,kind,when,qty\n"
      "u1,buy,1700000000,1\n"        // 2 ok
      ",buy,1700000000,1\n"          // 3 missing key
      "u1,buy,1700000000\n"          // 4 bad csv row (too few)
      "u1,buy,1700000000,1,extra\n"  // 5 bad csv row (too many)
      "u1,\"buy,1700000000,1\n"      // 6 bad csv row (unterminated quote)
      "u1,\"buy\"x,1700000000,1\n"   // 7 bad csv row (text after quote)
      "u1,buy,,1\n"                  // 8 missing timestamp
      "u1,buy,17000x,1\n"            // 9 bad timestamp
      "u1,,1700000000,1\n"           // 10 missing event
      "u1,buy,1700000000,1.5\n"      // 11 bad number
      "u\xff,buy,1700000000,1\n"     // 12 invalid utf-8
      "\n"                           // 13 blank: skipped
      "u2,buy,1700000000.25,\n";     // 14 ok, qty absent
  auto run = run_csv(
      "{key: id, event: {column: kind}, timestamp: {column: when, format: epoch_s}, "
      "properties: {qty: {column: qty, type: int}}}",
      content);
  EXPECT_EQ(run->drained.keys(), (std::vector<std::string>{"u1", "u2"}));
  const std::map<std::string, uint64_t> expected = {
      {"missing key", 1},   {"bad csv row", 4}, {"missing timestamp", 1}, {"bad timestamp", 1},
      {"missing event", 1}, {"bad number", 1},  {"invalid utf-8", 1}};
  EXPECT_EQ(run->dead_letters.counts(), expected);
  ASSERT_EQ(run->dead_letter_lines.size(), 10u);
  EXPECT_NE(run->dead_letter_lines[0].find(R"(.csv:3","reason":"missing key","payload":",buy,)"),
            std::string::npos)
      << run->dead_letter_lines[0];
  const Batch& b = *run->drained.batches[0];
  EXPECT_EQ(b.records()[1].event_time, 1700000000250);
  EXPECT_EQ(*prop(b, b.records()[0], "properties.qty"), Value::integer(1));
  EXPECT_EQ(prop(b, b.records()[1], "properties.qty"), nullptr);
}

TEST(FileSourceCsv, PrefixMapDefaultConstantAndStripDecimal) {
  const std::string content =
      "InvoiceNo,CustomerID,InvoiceDate,Country\n"
      "536365,17850.0,2010-12-01T08:26:00Z,United Kingdom\n"
      "C536379,14527.0,2010-12-01T09:41:00Z,United Kingdom\n"
      "A563185,,2011-08-12T14:50:00Z,United Kingdom\n"
      "536366,12.5,2010-12-01T10:00:00Z,France\n";
  auto run = run_csv(R"({key: CustomerID, key_strip_decimal: true,
      event: {column: InvoiceNo, prefix_map: {C: Order Cancelled}, default: Order Completed},
      timestamp: InvoiceDate, properties: {context.location.country: Country}})",
                     content);
  EXPECT_EQ(run->drained.keys(), (std::vector<std::string>{"17850", "14527", "12.5"}));
  EXPECT_EQ(run->dead_letters.count("missing key"), 1u);
  const Batch& b = *run->drained.batches[0];
  EXPECT_EQ(symbol_name(b.records()[0].event), "Order Completed");
  EXPECT_EQ(symbol_name(b.records()[1].event), "Order Cancelled");
  EXPECT_EQ(*prop(b, b.records()[2], "context.location.country"), Value::string("France"));

  auto constant =
      run_csv("{key: CustomerID, event: Order Completed, timestamp: InvoiceDate}", content);
  EXPECT_EQ(constant->drained.keys()[0], "17850.0") << "no stripping unless asked";
  constant->drained.each(
      [](const Batch&, const Record& r) { EXPECT_EQ(symbol_name(r.event), "Order Completed"); });
}

TEST(FileSourceCsv, NoHeaderTabsBomAndTimeFormats) {
  auto no_header = run_csv(
      "{skip_header: false, columns: [u, t], key: u, event: E, "
      "timestamp: {column: t, format: epoch_ms}}",
      "a,1000\nb,-5\n");
  EXPECT_EQ(no_header->drained.keys(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(no_header->drained.batches[0]->records()[1].event_time, -5);

  auto tabs = run_csv(
      "{delimiter: '\\t', key: u, event: E, "
      "timestamp: {column: t, format: '%d/%b/%Y:%H:%M:%S %z'}}",
      "\xEF\xBB\xBFu\tt\nx\t01/May/2024:14:00:00 +0200\ny\t1/may/2024:12:0:0 Z\n");
  EXPECT_EQ(tabs->dead_letters.total(), 0u) << tabs->dead_letter_lines[0];
  ASSERT_EQ(tabs->drained.size(), 2u);
  EXPECT_EQ(tabs->drained.batches[0]->records()[0].event_time, 1714564800000);
  EXPECT_EQ(tabs->drained.batches[0]->records()[1].event_time, 1714564800000);
}

TEST(FileSourceCsv, MissingColumnFailsAtOpen) {
  TempDir dir;
  write_file(dir.file("d.csv"), "a,b\n1,2\n");
  SourceHarness h(
      parse_config("{path: " + dir.file("d.csv") + ", csv: {key: a, event: E, timestamp: c}}"));
  try {
    h.open();
    FAIL() << "open should throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("column 'c' is not in the CSV header (a, b)"),
              std::string::npos)
        << e.what();
  }
}

// ---------------------------------------------------------------------------------------
// The real datasets in ../shared/data, replayed without conversion.

constexpr const char* kRees46 = R"(
path: %DATA%/rees46-ecommerce-behavior/rees46_2019-Oct_first_17k_events.csv
csv:
  key: user_id
  event: { column: event_type, map: { view: Product Viewed, cart: Product Added, purchase: Order Completed } }
  timestamp: { column: event_time, format: "%Y-%m-%d %H:%M:%S" }
  properties: { product_id: product_id, category_id: category_id, category: category_code, brand: brand, price: price, session_id: user_session }
)";

constexpr const char* kTaobao = R"(
path: %DATA%/taobao-userbehavior/taobao_userbehavior_users_part1.csv
sort_by_time: true
csv:
  key: user_id
  event: { column: behavior_type, map: { pv: Product Viewed, cart: Product Added, fav: Product Added to Wishlist, buy: Order Completed } }
  timestamp: { column: timestamp, format: epoch_s }
  properties: { product_id: item_id, category_id: category_id }
)";

constexpr const char* kUci = R"(
path: %DATA%/uci-online-retail/online_retail_2010-12-01_to_2011-08-31.csv.gz
csv:
  key: CustomerID
  key_strip_decimal: true
  event: { column: InvoiceNo, prefix_map: { C: Order Cancelled, A: Debt Adjusted }, default: Order Completed }
  timestamp: { column: InvoiceDate, format: "%Y-%m-%d %H:%M:%S" }
  properties:
    order_id: { column: InvoiceNo, type: string }
    sku: { column: StockCode, type: string }
    name: Description
    quantity: Quantity
    price: UnitPrice
    context.location.country: Country
)";

FileSource::Config dataset_config(std::string yaml) {
  yaml.replace(yaml.find("%DATA%"), 6, kDataDir);
  return parse_config(yaml);
}

std::map<std::string, size_t> event_counts(const Drained& d) {
  std::map<std::string, size_t> out;
  d.each([&](const Batch&, const Record& r) { ++out[std::string(symbol_name(r.event))]; });
  return out;
}

TEST(FileSourceDatasets, Rees46) {
  DeadLetterOutput dead_letters;
  SourceHarness h(dataset_config(kRees46), &dead_letters);
  const Drained d = h.run();
  EXPECT_EQ(dead_letters.total(), 0u);
  EXPECT_EQ(d.size(), 17'434u);
  EXPECT_EQ(d.lines_read, 17'435u);
  EXPECT_EQ(event_counts(d),
            (std::map<std::string, size_t>{
                {"Product Viewed", 17'055}, {"Order Completed", 214}, {"Product Added", 165}}));
  const auto keys = d.keys();
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 4'504u);
  int64_t first = INT64_MAX, last = INT64_MIN, previous = INT64_MIN;
  size_t no_brand = 0, no_category = 0, out_of_order = 0;
  d.each([&](const Batch& b, const Record& r) {
    first = std::min(first, r.event_time);
    last = std::max(last, r.event_time);
    out_of_order += r.event_time < previous;
    previous = r.event_time;
    no_brand += prop(b, r, "properties.brand") == nullptr;
    no_category += prop(b, r, "properties.category") == nullptr;
    ASSERT_TRUE(prop(b, r, "properties.price")->is_number());
    ASSERT_EQ(prop(b, r, "properties.product_id")->type(), ValueType::kInt);
    ASSERT_TRUE(prop(b, r, "properties.session_id")->is_string());
  });
  EXPECT_EQ(first, 1569888000000);  // 2019-10-01 00:00:00 UTC
  EXPECT_EQ(last, 1569898200000);   // 2019-10-01 02:50:00 UTC
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(no_brand, 2'477u);
  EXPECT_EQ(no_category, 5'746u);
}

TEST(FileSourceDatasets, TaobaoSortedByTime) {
  DeadLetterOutput dead_letters;
  SourceHarness h(dataset_config(kTaobao), &dead_letters);
  const Drained d = h.run();
  EXPECT_EQ(dead_letters.total(), 0u);
  EXPECT_EQ(d.size(), 61'858u);
  EXPECT_EQ(d.lines_read, 61'859u);
  EXPECT_EQ(event_counts(d), (std::map<std::string, size_t>{{"Product Viewed", 55'570},
                                                            {"Product Added", 3'427},
                                                            {"Product Added to Wishlist", 1'550},
                                                            {"Order Completed", 1'311}}));
  const auto keys = d.keys();
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 570u);
  int64_t previous = INT64_MIN;
  size_t out_of_order = 0;
  d.each([&](const Batch&, const Record& r) {
    out_of_order += r.event_time < previous;
    previous = r.event_time;
  });
  EXPECT_EQ(out_of_order, 0u);
  EXPECT_EQ(d.batches.front()->records()[0].event_time, 1505117799000);  // 2017-09-11 08:16:39
  EXPECT_EQ(previous, 1512316761000);                                    // 2017-12-03 15:59:21
  for (size_t n : d.per_poll) EXPECT_LE(n, FileSource::kRecordsPerPoll);
}

TEST(FileSourceDatasets, UciOnlineRetailGzip) {
  DeadLetterOutput dead_letters;
  SourceHarness h(dataset_config(kUci), &dead_letters);
  const Drained d = h.run();
  EXPECT_EQ(d.lines_read, 320'706u);
  EXPECT_EQ(dead_letters.counts(), (std::map<std::string, uint64_t>{{"missing key", 88'652}}));
  EXPECT_EQ(d.size(), 320'705u - 88'652u);
  EXPECT_EQ(d.size() + dead_letters.total(), 320'705u);
  const auto keys = d.keys();
  const std::set<std::string> customers(keys.begin(), keys.end());
  EXPECT_EQ(customers.size(), 3'360u);
  for (const std::string& k : customers) ASSERT_EQ(k.find('.'), std::string::npos) << k;
  const auto events = event_counts(d);
  // The 3 adjustment lines have no CustomerID.
  EXPECT_EQ(events, (std::map<std::string, size_t>{{"Order Completed", 226'488},
                                                   {"Order Cancelled", 5'565}}));
  size_t quoted_with_comma = 0;
  int64_t first = INT64_MAX, last = INT64_MIN;
  d.each([&](const Batch& b, const Record& r) {
    const Value* name = prop(b, r, "properties.name");
    if (name != nullptr && name->as_string().find(',') != std::string_view::npos)
      ++quoted_with_comma;
    ASSERT_TRUE(prop(b, r, "properties.order_id")->is_string());
    ASSERT_EQ(prop(b, r, "properties.quantity")->type(), ValueType::kInt);
    first = std::min(first, r.event_time);
    last = std::max(last, r.event_time);
  });
  EXPECT_EQ(quoted_with_comma, 2'088u);
  EXPECT_EQ(first, 1291191960000);  // 2010-12-01 08:26:00 (taken as UTC)
  EXPECT_EQ(last, 1314812700000);   // 2011-08-31 17:45:00
}

}  // namespace
}  // namespace segflow

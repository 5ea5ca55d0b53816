// RollingEvents: the events one profile of a `rolling` operator (rolling_aggregate.h) holds,
// ascending by time, encoded into one heap block behind a one-pointer handle (8 bytes; no
// block when empty). The block is a 12-byte header (applied count, bytes used, capacity)
// then per event:
// - its time: the first as a zigzag varint, the others as a varint delta from the previous;
// - its trait-filter mask (varint), when the layout has filtered traits;
// - each numeric property (sum/min/max/avg/count-of-property traits), a varint whose 3 low
//   bits say: missing, same as the previous event's, a whole number, a whole number of
//   hundredths (prices), or 8 raw bytes following; every double comes back bit for bit
//   (the writer checks);
// - each raw property (first/last/count_distinct): null, false, true, same as the previous
//   event's, an integer, 8 bytes of a double, or a string's length then its bytes.
// So 5 traits over one price cost about 2 to 6 bytes per event (the former layout: 16).
// Changes go through EventList, the decoded form: decode(), change it, encode().
// Thread safety: plain value types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/record.h"
#include "engine/state_io.h"
#include "engine/value.h"

namespace segflow {

// What each event of a profile carries besides its time.
struct RollingLayout {
  uint32_t numbers = 0;  // numeric properties
  uint32_t raws = 0;     // raw properties
  bool masks = false;    // a trait-filter mask
};

// A raw property value as decoded: a string views the bytes it was decoded from (a
// RollingEvents block, or the Batch of the record it came from), which must outlive it.
struct RawValue {
  ValueType type = ValueType::kNull;
  int64_t i = 0;  // bool, int
  double d = 0;
  std::string_view s;

  static RawValue of(const Value& v);
  Value view() const { return type == ValueType::kString ? Value::string(s) : value(); }
  bool operator==(const RawValue& o) const;

 private:
  Value value() const;
};

// A profile's events decoded, column by column: event e's time is times[e], its numeric
// property k numbers[e * layout.numbers + k] (NaN: none), its raw property k
// raws[e * layout.raws + k], its mask masks[e] (with layout.masks). The first `applied`
// events are in the window, the others wait for the watermark.
struct EventList {
  std::vector<int64_t> times;
  std::vector<uint32_t> masks;
  std::vector<double> numbers;
  std::vector<RawValue> raws;
  uint32_t applied = 0;

  size_t size() const { return times.size(); }
  bool empty() const { return times.empty(); }
  void clear();
  // The index of the first event later than `t` (size() when none).
  size_t first_after(int64_t t) const;
  // Inserts event `e` of `from` after every event at or before its time; its index.
  size_t insert(const RollingLayout& layout, const EventList& from, size_t e);
  // Drops the first `n` events (`applied` is the caller's).
  void erase_front(const RollingLayout& layout, size_t n);
};

class RollingEvents {
 public:
  RollingEvents() = default;
  RollingEvents(const RollingEvents& o);
  RollingEvents(RollingEvents&& o) noexcept : block_(o.block_) { o.block_ = nullptr; }
  RollingEvents& operator=(const RollingEvents& o);
  RollingEvents& operator=(RollingEvents&& o) noexcept;
  ~RollingEvents() { release(); }

  bool empty() const { return block_ == nullptr; }
  // Replaces `out` by the events. False when the bytes do not decode with `layout` (state
  // restored or handed over from a differently configured operator, or corrupt): `out` is
  // then unspecified.
  bool decode(const RollingLayout& layout, EventList& out) const;
  // Replaces the events by `events` (its `applied` too; none: frees the block). `scratch` is
  // working space the caller keeps between calls (no allocation once it has grown).
  void encode(const RollingLayout& layout, const EventList& events, std::string& scratch);
  // What append_in_order() read of the events before it appended (kMinTime: none).
  struct Summary {
    uint32_t count = 0;
    uint32_t applied = 0;
    int64_t first = kMinTime;
    int64_t first_buffered = kMinTime;  // the first event not applied
    int64_t last = kMinTime;
  };
  // Working space of append_in_order(), kept by the caller between calls.
  struct AppendScratch {
    std::string bytes;
    std::vector<uint64_t> numbers;  // each numeric property's last varint as written
    std::vector<double> raw_numbers;
    std::vector<RawValue> raws;
  };
  // Adds event `e` of `from` after the events held, none of which may be later (the applied
  // count stays), reading them in one pass without decoding them: the usual case of events
  // arriving in time order, cheaper than decode(), insert and encode(). False, with nothing
  // changed, when an event held is later than it (or the bytes are malformed).
  bool append_in_order(const RollingLayout& layout, const EventList& from, size_t e,
                       Summary& summary, AppendScratch& scratch);
  void set_applied(uint32_t applied);
  // Drops the oldest `dropped` events (0 < dropped < size): `rest` is what remains,
  // decoded. Only its first event is encoded anew (it becomes the first: absolute time, no
  // repeats); the bytes of the others stay. Sets the applied count to rest.applied.
  void keep_tail(const RollingLayout& layout, const EventList& rest, size_t dropped,
                 std::string& scratch);
  // The encoded bytes (after the header).
  std::string_view bytes() const;
  // Heap bytes of the block (0: none), as requested from malloc.
  size_t block_bytes() const;

  // Format: applied (u32), the encoded bytes (string).
  void write(StateWriter& w) const;
  // Takes the bytes as they are: decode() checks them.
  static RollingEvents read(StateReader& r);

 private:
  void assign(std::string_view bytes, uint32_t applied);
  void release();

  unsigned char* block_ = nullptr;
};

}  // namespace segflow

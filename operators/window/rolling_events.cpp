#include "operators/window/rolling_events.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace segflow {

namespace {

// Block header: applied events, bytes used, bytes of room (all after the header).
constexpr size_t kApplied = 0;
constexpr size_t kUsed = 4;
constexpr size_t kCapacity = 8;
constexpr size_t kHeader = 12;
// Blocks up to this size grow to fit; larger ones by a quarter.
constexpr size_t kExactUpTo = 64;

// Low 3 bits of a numeric property's varint.
enum NumberTag : uint64_t { kMissing, kSameNumber, kWhole, kHundredths, kRawNumber };
// Low 3 bits of a raw property's varint.
enum RawTag : uint64_t { kNull, kFalse, kTrue, kSameRaw, kInt, kDouble, kString, kWideInt };
constexpr uint64_t kTagBits = 3;
constexpr uint64_t kTagMask = 7;
// Whole numbers and hundredths this large or larger are stored as raw bytes (exact
// conversions, and zigzag << 3 fits 64 bits).
constexpr double kSmallNumber = 1e15;
constexpr int64_t kSmallInt = int64_t{1} << 59;

uint32_t load_u32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
void store_u32(unsigned char* p, uint32_t v) { std::memcpy(p, &v, sizeof v); }

uint64_t zigzag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

void put_varint(std::string& out, uint64_t v) {
  if (v < 0x80) {
    out.push_back(static_cast<char>(v));
    return;
  }
  char bytes[10];
  size_t n = 0;
  while (v >= 0x80) {
    bytes[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  bytes[n++] = static_cast<char>(v);
  out.append(bytes, n);
}
void put_raw(std::string& out, const void* p, size_t n) {
  out.append(static_cast<const char*>(p), n);
}

// Reads forward from `p`, never past `end`; any read past it marks the reader failed.
struct Cursor {
  const unsigned char* p;
  const unsigned char* end;
  bool ok = true;

  bool more() const { return ok && p < end; }
  uint64_t varint() {
    if (end - p >= 3) {  // the common lengths, unrolled
      const uint64_t b0 = p[0];
      if (b0 < 0x80) {
        p += 1;
        return b0;
      }
      const uint64_t b1 = p[1];
      if (b1 < 0x80) {
        p += 2;
        return (b0 & 0x7f) | (b1 << 7);
      }
      const uint64_t b2 = p[2];
      if (b2 < 0x80) {
        p += 3;
        return (b0 & 0x7f) | ((b1 & 0x7f) << 7) | (b2 << 14);
      }
    }
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) break;
      const unsigned char b = *p++;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok = false;
    return 0;
  }
  template <class T>
  T raw() {
    T v{};
    if (static_cast<size_t>(end - p) < sizeof v) {
      ok = false;
      return v;
    }
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  }
  std::string_view chars(uint64_t n) {
    if (static_cast<uint64_t>(end - p) < n) {
      ok = false;
      return {};
    }
    const std::string_view s(reinterpret_cast<const char*>(p), n);
    p += n;
    return s;
  }
};

bool same_bits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

// A number of hundredths as written: (whole part << 7 | hundredths) << 1 | sign, so that
// reading it takes shifts, a table of the correctly rounded hundredths and one addition, no
// division. The writer checks that this gives back the number bit for bit (it does for all
// but about 1 in 50,000), else writes the raw bytes.
constexpr auto kHundredthTable = [] {
  std::array<double, 100> t{};
  for (int i = 0; i < 100; ++i) t[static_cast<size_t>(i)] = i / 100.0;
  return t;
}();
uint64_t hundredths_payload(int64_t m) {
  const uint64_t magnitude = m < 0 ? 0 - static_cast<uint64_t>(m) : static_cast<uint64_t>(m);
  return (((magnitude / 100) << 7 | (magnitude % 100)) << 1) | (m < 0 ? 1 : 0);
}
// The number, or NaN when the hundredths are 100 or more (not written so).
double hundredths_value(uint64_t payload) {
  const uint64_t cents = (payload >> 1) & 0x7f;
  if (cents >= 100) return std::numeric_limits<double>::quiet_NaN();
  const double v = static_cast<double>(payload >> 8) + kHundredthTable[cents];
  return (payload & 1) != 0 ? -v : v;
}

// A non-missing number as written: its varint and, with kRawNumber, its 8 bytes.
struct NumberCode {
  uint64_t x = kMissing;
  double raw = 0;
  bool operator==(const NumberCode& o) const { return x == o.x && same_bits(raw, o.raw); }
};

NumberCode number_code(double v) {
  if (std::fabs(v) < kSmallNumber) {
    const auto whole = static_cast<int64_t>(v);
    if (same_bits(static_cast<double>(whole), v)) return {(zigzag(whole) << kTagBits) | kWhole};
    const uint64_t payload = hundredths_payload(std::llround(v * 100));
    if (same_bits(hundredths_value(payload), v)) return {(payload << kTagBits) | kHundredths};
  }
  return {kRawNumber, v};
}

void put_code(std::string& out, const NumberCode& code) {
  put_varint(out, code.x);
  if (code.x == kRawNumber) put_raw(out, &code.raw, sizeof code.raw);
}

void put_number(std::string& out, double v, const double* previous) {
  if (std::isnan(v)) {
    put_varint(out, kMissing);
  } else if (previous != nullptr && same_bits(v, *previous)) {
    put_varint(out, kSameNumber);
  } else {
    put_code(out, number_code(v));
  }
}

double read_number(Cursor& in, const double* previous) {
  const uint64_t x = in.varint();
  switch (x & kTagMask) {
    case kMissing:
      if (x >> kTagBits == 0) return std::numeric_limits<double>::quiet_NaN();
      break;
    case kSameNumber:
      if (previous != nullptr && !std::isnan(*previous)) return *previous;
      break;
    case kWhole:
      return static_cast<double>(unzigzag(x >> kTagBits));
    case kHundredths:
      if (const double v = hundredths_value(x >> kTagBits); !std::isnan(v)) return v;
      break;
    case kRawNumber:
      if (x >> kTagBits == 0) {
        const auto v = in.raw<double>();
        if (!std::isnan(v)) return v;  // NaN is written as missing
      }
      break;
  }
  in.ok = false;
  return 0;
}

void put_raw_value(std::string& out, const RawValue& v, const RawValue* previous) {
  if (v.type == ValueType::kNull) {
    put_varint(out, kNull);
  } else if (previous != nullptr && v == *previous) {
    put_varint(out, kSameRaw);
  } else if (v.type == ValueType::kBool) {
    put_varint(out, v.i != 0 ? kTrue : kFalse);
  } else if (v.type == ValueType::kInt) {
    if (v.i > -kSmallInt && v.i < kSmallInt) {
      put_varint(out, (zigzag(v.i) << kTagBits) | kInt);
    } else {
      put_varint(out, kWideInt);
      put_raw(out, &v.i, sizeof v.i);
    }
  } else if (v.type == ValueType::kDouble) {
    put_varint(out, kDouble);
    put_raw(out, &v.d, sizeof v.d);
  } else {
    put_varint(out, (static_cast<uint64_t>(v.s.size()) << kTagBits) | kString);
    put_raw(out, v.s.data(), v.s.size());
  }
}

RawValue read_raw_value(Cursor& in, const RawValue* previous) {
  const uint64_t x = in.varint();
  const uint64_t payload = x >> kTagBits;
  RawValue v;
  switch (x & kTagMask) {
    case kNull:
    case kFalse:
    case kTrue:
    case kDouble:
    case kWideInt:
    case kSameRaw:
      if (payload != 0) in.ok = false;
      break;
    default:
      break;
  }
  switch (x & kTagMask) {
    case kNull:
      break;
    case kFalse:
    case kTrue:
      v.type = ValueType::kBool;
      v.i = (x & kTagMask) == kTrue ? 1 : 0;
      break;
    case kSameRaw:
      if (previous == nullptr || previous->type == ValueType::kNull) in.ok = false;
      if (previous != nullptr) v = *previous;
      break;
    case kInt:
      v.type = ValueType::kInt;
      v.i = unzigzag(payload);
      break;
    case kWideInt:
      v.type = ValueType::kInt;
      v.i = in.raw<int64_t>();
      break;
    case kDouble:
      v.type = ValueType::kDouble;
      v.d = in.raw<double>();
      break;
    case kString:
      v.type = ValueType::kString;
      v.s = in.chars(payload);
      break;
  }
  return v;
}

// Event `e` of `events`, after event `p` of `previous` (none: the first event).
void put_event(std::string& out, const RollingLayout& layout, const EventList& events, size_t e,
               const EventList* previous, size_t p) {
  put_varint(out, previous == nullptr ? zigzag(events.times[e])
                                      : static_cast<uint64_t>(events.times[e]) -
                                            static_cast<uint64_t>(previous->times[p]));
  if (layout.masks) put_varint(out, events.masks[e]);
  for (size_t k = 0; k < layout.numbers; ++k)
    put_number(out, events.numbers[e * layout.numbers + k],
               previous != nullptr ? &previous->numbers[p * layout.numbers + k] : nullptr);
  for (size_t k = 0; k < layout.raws; ++k)
    put_raw_value(out, events.raws[e * layout.raws + k],
                  previous != nullptr ? &previous->raws[p * layout.raws + k] : nullptr);
}

// The malloc request for a block of `n` bytes (header included): glibc's chunks are 16-byte
// multiples with 8 bytes of overhead, so requests of 16k + 8 bytes use all they get.
size_t request_for(size_t n) { return std::max<size_t>(24, ((n + 8 + 15) & ~size_t{15}) - 8); }

}  // namespace

RawValue RawValue::of(const Value& v) {
  RawValue r;
  r.type = v.type();
  switch (v.type()) {
    case ValueType::kBool:
    case ValueType::kInt:
      r.i = v.as_int();
      break;
    case ValueType::kDouble:
      r.d = v.as_double();
      break;
    case ValueType::kString:
      r.s = v.as_string();
      break;
    case ValueType::kNull:
      break;
  }
  return r;
}

Value RawValue::value() const {
  switch (type) {
    case ValueType::kBool:
      return Value::boolean(i != 0);
    case ValueType::kInt:
      return Value::integer(i);
    case ValueType::kDouble:
      return Value::real(d);
    default:
      return Value::null();
  }
}

bool RawValue::operator==(const RawValue& o) const {
  if (type != o.type) return false;
  switch (type) {
    case ValueType::kDouble:
      return same_bits(d, o.d);
    case ValueType::kString:
      return s == o.s;
    case ValueType::kNull:
      return true;
    default:
      return i == o.i;
  }
}

void EventList::clear() {
  times.clear();
  masks.clear();
  numbers.clear();
  raws.clear();
  applied = 0;
}

size_t EventList::first_after(int64_t t) const {
  return static_cast<size_t>(std::upper_bound(times.begin(), times.end(), t) - times.begin());
}

size_t EventList::insert(const RollingLayout& layout, const EventList& from, size_t e) {
  const size_t at = first_after(from.times[e]);
  const auto pos = static_cast<std::ptrdiff_t>(at);
  times.insert(times.begin() + pos, from.times[e]);
  if (layout.masks) masks.insert(masks.begin() + pos, from.masks[e]);
  if (layout.numbers > 0) {
    const auto n = static_cast<std::ptrdiff_t>(layout.numbers);
    const auto src = from.numbers.begin() + static_cast<std::ptrdiff_t>(e) * n;
    numbers.insert(numbers.begin() + pos * n, src, src + n);
  }
  if (layout.raws > 0) {
    const auto n = static_cast<std::ptrdiff_t>(layout.raws);
    const auto src = from.raws.begin() + static_cast<std::ptrdiff_t>(e) * n;
    raws.insert(raws.begin() + pos * n, src, src + n);
  }
  return at;
}

void EventList::erase_front(const RollingLayout& layout, size_t n) {
  if (n == 0) return;
  const auto count = static_cast<std::ptrdiff_t>(n);
  times.erase(times.begin(), times.begin() + count);
  if (layout.masks) masks.erase(masks.begin(), masks.begin() + count);
  numbers.erase(numbers.begin(),
                numbers.begin() + count * static_cast<std::ptrdiff_t>(layout.numbers));
  raws.erase(raws.begin(), raws.begin() + count * static_cast<std::ptrdiff_t>(layout.raws));
}

RollingEvents::RollingEvents(const RollingEvents& o) {
  assign(o.bytes(), o.empty() ? 0 : load_u32(o.block_ + kApplied));
}

RollingEvents& RollingEvents::operator=(const RollingEvents& o) {
  if (this != &o) assign(o.bytes(), o.empty() ? 0 : load_u32(o.block_ + kApplied));
  return *this;
}

RollingEvents& RollingEvents::operator=(RollingEvents&& o) noexcept {
  if (this != &o) {
    release();
    block_ = o.block_;
    o.block_ = nullptr;
  }
  return *this;
}

void RollingEvents::release() {
  std::free(block_);
  block_ = nullptr;
}

std::string_view RollingEvents::bytes() const {
  if (block_ == nullptr) return {};
  return {reinterpret_cast<const char*>(block_ + kHeader), load_u32(block_ + kUsed)};
}

size_t RollingEvents::block_bytes() const {
  return block_ == nullptr ? 0 : kHeader + load_u32(block_ + kCapacity);
}

void RollingEvents::assign(std::string_view bytes, uint32_t applied) {
  if (bytes.empty()) {
    release();
    return;
  }
  const size_t need = kHeader + bytes.size();
  const size_t have = block_bytes();
  // Keep the block when the bytes fit and use more than half of it.
  if (need > have || (have > kExactUpTo && need * 2 < have)) {
    const size_t request = request_for(need > have && need > kExactUpTo ? need + need / 4 : need);
    auto* fresh = static_cast<unsigned char*>(std::malloc(request));
    if (fresh == nullptr) throw std::bad_alloc();
    release();
    block_ = fresh;
    store_u32(block_ + kCapacity, static_cast<uint32_t>(request - kHeader));
  }
  store_u32(block_ + kApplied, applied);
  store_u32(block_ + kUsed, static_cast<uint32_t>(bytes.size()));
  std::memcpy(block_ + kHeader, bytes.data(), bytes.size());
}

bool RollingEvents::decode(const RollingLayout& layout, EventList& out) const {
  out.clear();
  if (block_ == nullptr) return true;
  const std::string_view all = bytes();
  Cursor in{reinterpret_cast<const unsigned char*>(all.data()),
            reinterpret_cast<const unsigned char*>(all.data() + all.size())};
  int64_t time = 0;
  while (in.more()) {
    const uint64_t delta = in.varint();
    if (out.times.empty()) {
      time = unzigzag(delta);
    } else {
      // Unsigned arithmetic: the room above `time` and the sum are exact for any int64 time.
      const uint64_t room =
          static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - static_cast<uint64_t>(time);
      if (delta > room) return false;
      time = static_cast<int64_t>(static_cast<uint64_t>(time) + delta);
    }
    const size_t e = out.times.size();
    out.times.push_back(time);
    if (layout.masks) {
      const uint64_t mask = in.varint();
      if (mask > std::numeric_limits<uint32_t>::max()) return false;
      out.masks.push_back(static_cast<uint32_t>(mask));
    }
    for (size_t k = 0; k < layout.numbers; ++k) {
      const double* previous = e > 0 ? &out.numbers[(e - 1) * layout.numbers + k] : nullptr;
      out.numbers.push_back(read_number(in, previous));
    }
    for (size_t k = 0; k < layout.raws; ++k) {
      const RawValue* previous = e > 0 ? &out.raws[(e - 1) * layout.raws + k] : nullptr;
      out.raws.push_back(read_raw_value(in, previous));
    }
  }
  out.applied = load_u32(block_ + kApplied);
  return in.ok && out.applied <= out.size();
}

void RollingEvents::encode(const RollingLayout& layout, const EventList& events,
                           std::string& scratch) {
  scratch.clear();
  for (size_t e = 0; e < events.size(); ++e)
    put_event(scratch, layout, events, e, e > 0 ? &events : nullptr, e - 1);
  assign(scratch, events.empty() ? 0 : events.applied);
}

bool RollingEvents::append_in_order(const RollingLayout& layout, const EventList& from, size_t e,
                                    Summary& summary, AppendScratch& scratch) {
  summary = Summary{};
  if (block_ == nullptr) {
    EventList one;
    one.insert(layout, from, e);
    encode(layout, one, scratch.bytes);
    return true;
  }
  // The times, and each property's last value as written (numbers) or decoded (raws).
  scratch.numbers.assign(layout.numbers, NumberCode{}.x);
  scratch.raw_numbers.assign(layout.numbers, 0);
  scratch.raws.assign(layout.raws, RawValue{});
  const std::string_view all = bytes();
  Cursor in{reinterpret_cast<const unsigned char*>(all.data()),
            reinterpret_cast<const unsigned char*>(all.data() + all.size())};
  summary.applied = load_u32(block_ + kApplied);
  int64_t time = 0;
  for (uint32_t n = 0; in.more(); ++n) {
    const uint64_t delta = in.varint();
    time = n == 0 ? unzigzag(delta) : static_cast<int64_t>(static_cast<uint64_t>(time) + delta);
    if (n == 0) summary.first = time;
    if (n == summary.applied) summary.first_buffered = time;
    summary.count = n + 1;
    if (layout.masks) in.varint();
    for (size_t k = 0; k < layout.numbers; ++k) {
      const uint64_t x = in.varint();
      if ((x & kTagMask) == kSameNumber) continue;
      scratch.numbers[k] = x;
      if (x == kRawNumber) scratch.raw_numbers[k] = in.raw<double>();
    }
    for (size_t k = 0; k < layout.raws; ++k)
      scratch.raws[k] = read_raw_value(in, n > 0 ? &scratch.raws[k] : nullptr);
  }
  summary.last = time;
  // Malformed bytes, or an event later than this one: the caller decodes all.
  if (!in.ok || summary.applied > summary.count || from.times[e] < summary.last) return false;
  std::string& out = scratch.bytes;
  out.clear();
  put_varint(out, static_cast<uint64_t>(from.times[e]) - static_cast<uint64_t>(summary.last));
  if (layout.masks) put_varint(out, from.masks[e]);
  for (size_t k = 0; k < layout.numbers; ++k) {
    const double v = from.numbers[e * layout.numbers + k];
    if (std::isnan(v)) {
      put_varint(out, kMissing);
      continue;
    }
    const NumberCode code = number_code(v);
    if (code == NumberCode{scratch.numbers[k], scratch.raw_numbers[k]} && code.x != kMissing)
      put_varint(out, kSameNumber);
    else
      put_code(out, code);
  }
  for (size_t k = 0; k < layout.raws; ++k)
    put_raw_value(out, from.raws[e * layout.raws + k], &scratch.raws[k]);
  const size_t used = all.size();
  const size_t need = kHeader + used + out.size();
  if (need > block_bytes()) {
    const size_t request = request_for(need > kExactUpTo ? need + need / 4 : need);
    auto* fresh = static_cast<unsigned char*>(std::malloc(request));
    if (fresh == nullptr) throw std::bad_alloc();
    std::memcpy(fresh, block_, kHeader + used);
    release();
    block_ = fresh;
    store_u32(block_ + kCapacity, static_cast<uint32_t>(request - kHeader));
  }
  std::memcpy(block_ + kHeader + used, out.data(), out.size());
  store_u32(block_ + kUsed, static_cast<uint32_t>(used + out.size()));
  return true;
}

void RollingEvents::set_applied(uint32_t applied) {
  if (block_ != nullptr) store_u32(block_ + kApplied, applied);
}

void RollingEvents::keep_tail(const RollingLayout& layout, const EventList& rest, size_t dropped,
                              std::string& scratch) {
  if (rest.empty()) {
    release();
    return;
  }
  scratch.clear();
  put_event(scratch, layout, rest, 0, nullptr, 0);
  // Where the event after rest's first starts: past dropped + 1 events.
  const std::string_view all = bytes();
  Cursor in{reinterpret_cast<const unsigned char*>(all.data()),
            reinterpret_cast<const unsigned char*>(all.data() + all.size())};
  for (size_t e = 0; e <= dropped; ++e) {
    in.varint();
    if (layout.masks) in.varint();
    for (size_t k = 0; k < layout.numbers; ++k)
      if (in.varint() == kRawNumber) in.raw<double>();
    for (size_t k = 0; k < layout.raws; ++k) read_raw_value(in, nullptr);
  }
  const auto tail = static_cast<size_t>(reinterpret_cast<const char*>(in.p) - all.data());
  const size_t used = all.size();
  const size_t kept = used - tail;
  const size_t need = kHeader + scratch.size() + kept;
  const size_t have = block_bytes();
  if (need <= have && !(have > kExactUpTo && need * 2 < have)) {
    std::memmove(block_ + kHeader + scratch.size(), block_ + kHeader + tail, kept);
  } else {
    const size_t request = request_for(need);
    auto* fresh = static_cast<unsigned char*>(std::malloc(request));
    if (fresh == nullptr) throw std::bad_alloc();
    std::memcpy(fresh + kHeader + scratch.size(), block_ + kHeader + tail, kept);
    release();
    block_ = fresh;
    store_u32(block_ + kCapacity, static_cast<uint32_t>(request - kHeader));
  }
  std::memcpy(block_ + kHeader, scratch.data(), scratch.size());
  store_u32(block_ + kUsed, static_cast<uint32_t>(scratch.size() + kept));
  store_u32(block_ + kApplied, rest.applied);
}

void RollingEvents::write(StateWriter& w) const {
  write_state(w, empty() ? uint32_t{0} : load_u32(block_ + kApplied));
  w.str(bytes());
}

RollingEvents RollingEvents::read(StateReader& r) {
  const auto applied = read_state<uint32_t>(r);
  const std::string bytes = r.str();
  RollingEvents events;
  events.assign(bytes, applied);
  return events;
}

}  // namespace segflow

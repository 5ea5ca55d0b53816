#include "operators/window/rolling_events.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <deque>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace segflow {
namespace {

// One event as the test keeps it, owning its strings.
struct RefEvent {
  int64_t time = 0;
  uint32_t mask = 0;
  std::vector<double> numbers;
  std::vector<RawValue> raws;  // strings view RefModel::strings
};

// Random values of the kinds the encoding distinguishes, repeats of the previous event's
// included.
class ValueSource {
 public:
  explicit ValueSource(std::mt19937_64& rng) : rng_(rng) {}

  double number(const double* previous) {
    switch (rng_() % 12) {
      case 0:
        return std::numeric_limits<double>::quiet_NaN();
      case 1:
        return previous != nullptr ? *previous : 1.0;
      case 2:
        return -0.0;
      case 3:
        return static_cast<double>(static_cast<int64_t>(rng_() % 2001) - 1000);
      case 4:
        return static_cast<double>(static_cast<int64_t>(rng_() % 200'001) - 100'000) / 100;
      case 5:
        return std::ldexp(1.0, static_cast<int>(rng_() % 2100) - 1074);  // denormals to huge
      case 6:
        return rng_() % 2 == 0 ? std::numeric_limits<double>::infinity()
                               : -std::numeric_limits<double>::infinity();
      case 7:
        return static_cast<double>(int64_t{1} << 53) * (rng_() % 2 == 0 ? 1 : -1);
      case 8:
        return 1e15 - static_cast<double>(rng_() % 3);
      case 9: {
        const double d = std::bit_cast<double>(rng_());
        return std::isnan(d) ? 0.1 : d;
      }
      default:
        return static_cast<double>(rng_() % 1000) / 7.0;
    }
  }

  RawValue raw(const RawValue* previous, std::deque<std::string>& strings) {
    RawValue v;
    switch (rng_() % 9) {
      case 0:
        break;  // null
      case 1:
        v.type = ValueType::kBool;
        v.i = static_cast<int64_t>(rng_() % 2);
        break;
      case 2:
        v.type = ValueType::kInt;
        v.i = static_cast<int64_t>(rng_() % 1000) - 500;
        break;
      case 3:
        v.type = ValueType::kInt;
        v.i = rng_() % 2 == 0
                  ? std::numeric_limits<int64_t>::min()
                  : std::numeric_limits<int64_t>::max() - static_cast<int64_t>(rng_() % 2);
        break;
      case 4:
        v.type = ValueType::kDouble;
        v.d = std::bit_cast<double>(rng_());
        break;
      case 5:
        if (previous != nullptr) return *previous;
        break;
      default: {
        std::string s(rng_() % 4 == 0 ? 200 + rng_() % 200 : rng_() % 12, 'a');
        for (char& c : s) c = static_cast<char>(rng_() % 256);
        strings.push_back(std::move(s));
        v.type = ValueType::kString;
        v.s = strings.back();
      }
    }
    return v;
  }

 private:
  std::mt19937_64& rng_;
};

bool same_number(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b) ||
         (std::isnan(a) && std::isnan(b));
}

// `list` holds exactly `model` (numbers bit for bit; every NaN is "none").
void expect_equal(const EventList& list, const std::vector<RefEvent>& model, uint32_t applied,
                  const RollingLayout& layout) {
  ASSERT_EQ(list.size(), model.size());
  ASSERT_EQ(list.applied, applied);
  ASSERT_EQ(list.masks.size(), layout.masks ? model.size() : 0);
  ASSERT_EQ(list.numbers.size(), model.size() * layout.numbers);
  ASSERT_EQ(list.raws.size(), model.size() * layout.raws);
  for (size_t e = 0; e < model.size(); ++e) {
    ASSERT_EQ(list.times[e], model[e].time) << e;
    if (layout.masks) {
      ASSERT_EQ(list.masks[e], model[e].mask) << e;
    }
    for (size_t k = 0; k < layout.numbers; ++k)
      ASSERT_TRUE(same_number(list.numbers[e * layout.numbers + k], model[e].numbers[k]))
          << e << " " << list.numbers[e * layout.numbers + k] << " " << model[e].numbers[k];
    for (size_t k = 0; k < layout.raws; ++k)
      ASSERT_TRUE(list.raws[e * layout.raws + k] == model[e].raws[k]) << e;
  }
}

// Random insertions (in order, out of order, at equal times, across the whole int64 range;
// appended or encoded anew), drops of the oldest events (keep_tail or encoded anew) and moves
// of the applied boundary, each decoded again, against a std::vector of plain events, for several
// layouts.
TEST(RollingEvents, MatchesAVectorOfEventsUnderRandomOperations) {
  std::mt19937_64 rng(5);
  ValueSource values(rng);
  const RollingLayout layouts[] = {{0, 0, false}, {1, 0, false}, {3, 0, true},
                                   {0, 2, false}, {2, 1, true},  {1, 3, true}};
  for (int round = 0; round < 240; ++round) {
    const RollingLayout layout = layouts[round % std::size(layouts)];
    std::deque<std::string> strings;
    std::vector<RefEvent> model;
    uint32_t applied = 0;
    RollingEvents encoded;
    std::string scratch;
    RollingEvents::AppendScratch append_scratch;
    EventList list, one;
    const bool extreme = round % 5 == 0;
    int64_t clock = extreme ? std::numeric_limits<int64_t>::min() + 10'000
                            : static_cast<int64_t>(rng() % 100'000) - 50'000;
    for (int step = 0; step < 120; ++step) {
      ASSERT_TRUE(encoded.decode(layout, list));
      const uint64_t op = rng() % 10;
      bool written = false;  // the block is up to date: no encode()
      if (op < 6) {
        RefEvent e;
        if (extreme && rng() % 4 == 0) {
          e.time = rng() % 2 == 0 ? std::numeric_limits<int64_t>::max()
                                  : std::numeric_limits<int64_t>::min();
        } else {
          clock += static_cast<int64_t>(rng() % 3000);
          e.time = rng() % 4 == 0 ? clock - static_cast<int64_t>(rng() % 9000) : clock;
        }
        e.mask = rng() % 3 == 0 ? static_cast<uint32_t>(rng()) : static_cast<uint32_t>(rng() % 4);
        const auto at = static_cast<size_t>(
            std::upper_bound(model.begin(), model.end(), e.time,
                             [](int64_t t, const RefEvent& x) { return t < x.time; }) -
            model.begin());
        const RefEvent* before = at > 0 ? &model[at - 1] : nullptr;
        for (size_t k = 0; k < layout.numbers; ++k)
          e.numbers.push_back(values.number(before ? &before->numbers[k] : nullptr));
        for (size_t k = 0; k < layout.raws; ++k)
          e.raws.push_back(values.raw(before ? &before->raws[k] : nullptr, strings));
        one.clear();
        one.times.push_back(e.time);
        if (layout.masks) one.masks.push_back(e.mask);
        one.numbers = e.numbers;
        one.raws = e.raws;
        // At the end, half the time: append() (one event encoded) instead of encode().
        if (at == model.size() && rng() % 2 == 0) {
          RollingEvents::Summary summary;
          ASSERT_TRUE(encoded.append_in_order(layout, one, 0, summary, append_scratch));
          written = true;
          ASSERT_EQ(summary.count, model.size());
          ASSERT_EQ(summary.applied, model.empty() ? 0 : applied);
          if (!model.empty()) {
            ASSERT_EQ(summary.first, model.front().time);
            ASSERT_EQ(summary.last, model.back().time);
            ASSERT_EQ(summary.first_buffered,
                      applied < model.size() ? model[applied].time : kMinTime);
          }
        } else if (at < model.size() && model.back().time > e.time) {
          RollingEvents::Summary summary;
          const std::string before(encoded.bytes());
          ASSERT_FALSE(encoded.append_in_order(layout, one, 0, summary, append_scratch));
          ASSERT_EQ(encoded.bytes(), before);
        }
        ASSERT_EQ(list.insert(layout, one, 0), at);
        model.insert(model.begin() + static_cast<std::ptrdiff_t>(at), e);
        if (at < applied) ++applied;
      } else if (op < 8) {
        const size_t n = std::min<size_t>(rng() % 4, model.size());
        list.erase_front(layout, n);
        model.erase(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(n));
        applied -= static_cast<uint32_t>(std::min<size_t>(n, applied));
        if (n > 0 && !model.empty() && rng() % 2 == 0) {  // keep_tail(): one event encoded
          list.applied = applied;
          encoded.keep_tail(layout, list, n, scratch);
          written = true;
        }
      } else {
        applied = static_cast<uint32_t>(rng() % (model.size() + 1));
      }
      list.applied = applied;
      if (!written) encoded.encode(layout, list, scratch);
      ASSERT_EQ(encoded.empty(), model.empty());
      EventList check;
      ASSERT_TRUE(encoded.decode(layout, check)) << "round " << round << " step " << step;
      expect_equal(check, model, model.empty() ? 0 : applied, layout);
      if (model.empty()) applied = 0;
      // Copies, and the snapshot format, hold the same events.
      const RollingEvents copy = encoded;
      StateWriter w;
      copy.write(w);
      const std::string bytes = w.take();
      StateReader r(bytes);
      const RollingEvents restored = RollingEvents::read(r);
      EXPECT_TRUE(r.done());
      ASSERT_TRUE(restored.decode(layout, check));
      expect_equal(check, model, applied, layout);
      if (!model.empty()) {
        EXPECT_GE(encoded.block_bytes(), 12 + encoded.bytes().size());
      }
    }
  }
}

// The state the benchmark measures: ten events 1 ms apart, one price repeated; and prices
// with cents that differ: a few bytes per event, not the 16 of a time and a double.
TEST(RollingEvents, EventsOfOnePriceTakeAFewBytesEach) {
  const RollingLayout layout{1, 0, false};
  EventList list;
  for (int e = 0; e < 10; ++e) {
    list.times.push_back(1'700'000'000'000 + e);
    list.numbers.push_back(9.5);
  }
  list.applied = 10;
  RollingEvents encoded;
  std::string scratch;
  encoded.encode(layout, list, scratch);
  EXPECT_EQ(encoded.bytes().size(), 6 + 3 + 9 * 2u);  // time, 9.5, then 2 bytes per event
  for (int e = 0; e < 10; ++e) list.numbers[e] = (1000 + e * 1337) / 100.0;  // 10.00, 23.37...
  encoded.encode(layout, list, scratch);
  EXPECT_LE(encoded.bytes().size(), 6 + 10 * 3u + 9);  // time, up to 3 per price, 1 per delta
  EventList check;
  ASSERT_TRUE(encoded.decode(layout, check));
  EXPECT_EQ(check.numbers, list.numbers);
}

// Bytes that are not a valid encoding (cut short, bytes changed, another layout, applied
// beyond the events) decode to false or to some events, never past the block's end (the
// asan build checks that).
TEST(RollingEvents, MalformedBytesAreRejectedWithoutReadingPastThem) {
  std::mt19937_64 rng(9);
  ValueSource values(rng);
  std::deque<std::string> strings;
  const RollingLayout layout{2, 2, true};
  EventList list;
  int64_t t = 1000;
  for (int e = 0; e < 30; ++e) {
    list.times.push_back(t += static_cast<int64_t>(rng() % 5000));
    list.masks.push_back(static_cast<uint32_t>(rng()));
    for (int k = 0; k < 2; ++k) list.numbers.push_back(values.number(nullptr));
    for (int k = 0; k < 2; ++k) list.raws.push_back(values.raw(nullptr, strings));
  }
  list.applied = 12;
  RollingEvents good;
  std::string scratch;
  good.encode(layout, list, scratch);
  const std::string bytes(good.bytes());
  const auto decode = [&](uint32_t applied, const std::string& b, const RollingLayout& l) {
    StateWriter w;
    write_state(w, applied);
    w.str(b);
    const std::string s = w.take();
    StateReader r(s);
    EventList out;
    return RollingEvents::read(r).decode(l, out);
  };
  EXPECT_TRUE(decode(12, bytes, layout));
  EXPECT_FALSE(decode(31, bytes, layout));
  int rejected = 0;
  for (size_t cut = 1; cut < bytes.size(); cut += 3)
    rejected += decode(0, bytes.substr(0, bytes.size() - cut), layout) ? 0 : 1;
  EXPECT_GT(rejected, 0);
  for (int i = 0; i < 2000; ++i) {
    std::string changed = bytes;
    for (int n = 1 + static_cast<int>(rng() % 3); n > 0; --n)
      changed[rng() % changed.size()] = static_cast<char>(rng());
    decode(static_cast<uint32_t>(rng() % 40), changed, layout);
    decode(0, changed, RollingLayout{1, 0, false});
  }
  // The first event cannot repeat a previous one.
  EXPECT_FALSE(decode(0, std::string("\x02\x01", 2), RollingLayout{1, 0, false}));
  EXPECT_TRUE(decode(0, std::string("\x02\x00", 2), RollingLayout{1, 0, false}));
}

}  // namespace
}  // namespace segflow

#include "operators/window/accumulator.h"

#include <gtest/gtest.h>

namespace segflow {
namespace {

Accumulator of(AggregateFn fn, std::initializer_list<Value> values) {
  Accumulator a;
  uint64_t seq = 0;
  for (const Value& v : values) {
    a.add(fn, &v, static_cast<int64_t>(seq), seq, 2);
    ++seq;
  }
  return a;
}

Accumulator round_trip(const Accumulator& a) {
  StateWriter w;
  a.write(w);
  StateReader r(w.data());
  Accumulator b = Accumulator::read(r);
  EXPECT_TRUE(r.done());
  return b;
}

TEST(Accumulator, IsThreeWords) { EXPECT_EQ(sizeof(Accumulator), 24u); }

TEST(Accumulator, MinAndMaxKeepWhetherTheValueWasAnInteger) {
  const auto values = {Value::real(2.5), Value::integer(1), Value::integer(7), Value::null()};
  EXPECT_EQ(of(AggregateFn::kMin, values).result(AggregateFn::kMin), Value::integer(1));
  EXPECT_EQ(of(AggregateFn::kMax, values).result(AggregateFn::kMax), Value::integer(7));
  const auto doubles = {Value::integer(3), Value::real(-0.5), Value::real(9.25)};
  EXPECT_EQ(of(AggregateFn::kMin, doubles).result(AggregateFn::kMin), Value::real(-0.5));
  EXPECT_EQ(of(AggregateFn::kMax, doubles).result(AggregateFn::kMax), Value::real(9.25));
  EXPECT_EQ(of(AggregateFn::kMin, doubles).count(), 3u);
}

TEST(Accumulator, SumsStayIntegersUntilADoubleIsAdded) {
  EXPECT_EQ(of(AggregateFn::kSum, {Value::integer(2), Value::integer(5)}).result(AggregateFn::kSum),
            Value::integer(7));
  EXPECT_EQ(of(AggregateFn::kSum, {Value::integer(2), Value::real(0.5)}).result(AggregateFn::kSum),
            Value::real(2.5));
  EXPECT_EQ(of(AggregateFn::kAvg, {Value::integer(2), Value::real(1.0)}).result(AggregateFn::kAvg),
            Value::real(1.5));
  EXPECT_EQ(Accumulator().result(AggregateFn::kSum), Value::null());
}

TEST(Accumulator, MergeCombinesEachFunction) {
  struct Case {
    AggregateFn fn;
    Value expected;
  };
  const auto left = {Value::integer(4), Value::real(1.5)};
  const auto right = {Value::integer(-3), Value::integer(10)};
  for (const Case& c :
       {Case{AggregateFn::kCount, Value::integer(4)}, Case{AggregateFn::kSum, Value::real(12.5)},
        Case{AggregateFn::kMin, Value::integer(-3)}, Case{AggregateFn::kMax, Value::integer(10)},
        Case{AggregateFn::kAvg, Value::real(12.5 / 4)},
        Case{AggregateFn::kFirst, Value::integer(4)},
        Case{AggregateFn::kCountDistinct, Value::integer(4)}}) {
    SCOPED_TRACE(static_cast<int>(c.fn));
    Accumulator a = of(c.fn, left);
    a.merge(c.fn, of(c.fn, right), 10);
    EXPECT_EQ(a.result(c.fn), c.expected);
    EXPECT_EQ(round_trip(a).result(c.fn), c.expected);
  }
}

TEST(Accumulator, CopiesOwnTheirExtraState) {
  Accumulator a = of(AggregateFn::kLast, {Value::string("x"), Value::string("y")});
  Accumulator b = a;
  const Value z = Value::string("z");
  b.add(AggregateFn::kLast, &z, 10, 10);
  EXPECT_EQ(a.result(AggregateFn::kLast), Value::string("y"));
  EXPECT_EQ(b.result(AggregateFn::kLast), Value::string("z"));
  Accumulator moved = std::move(b);
  EXPECT_EQ(moved.result(AggregateFn::kLast), Value::string("z"));
  a = moved;
  EXPECT_EQ(round_trip(a).result(AggregateFn::kLast), Value::string("z"));
}

TEST(Accumulator, MergingAPartialWithoutItsStateDoesNotCrash) {
  // A count_distinct that decodes with a count but no distinct set (a malformed partial).
  Accumulator counted = of(AggregateFn::kCount, {Value::integer(1)});
  Accumulator a = of(AggregateFn::kCountDistinct, {Value::integer(1)});
  a.merge(AggregateFn::kCountDistinct, counted);
  EXPECT_EQ(a.result(AggregateFn::kCountDistinct), Value::integer(1));
  EXPECT_EQ(counted.result(AggregateFn::kLast), Value::null());
}

}  // namespace
}  // namespace segflow

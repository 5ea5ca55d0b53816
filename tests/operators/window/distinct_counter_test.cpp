#include "operators/window/distinct_counter.h"

#include <cmath>
#include <string>

#include <gtest/gtest.h>

namespace segflow {
namespace {

TEST(DistinctCounter, ExactUpToTheLimitWithSqlEquality) {
  DistinctCounter d;
  for (int i = 0; i < 3; ++i) {
    d.add(Value::integer(1), 10);
    d.add(Value::real(1.0), 10);    // 1 == 1.0, as SQL
    d.add(Value::string("1"), 10);  // a string is not a number
    d.add(Value::real(2.5), 10);
    d.add(Value::null(), 10);  // ignored
  }
  EXPECT_TRUE(d.exact());
  EXPECT_EQ(d.estimate(), 3u);
}

TEST(DistinctCounter, MergeOfExactSetsIsTheUnion) {
  DistinctCounter a, b;
  for (int i = 0; i < 50; ++i) a.add(Value::integer(i), 100);
  for (int i = 25; i < 75; ++i) b.add(Value::integer(i), 100);
  a.merge(b, 100);
  EXPECT_TRUE(a.exact());
  EXPECT_EQ(a.estimate(), 75u);
}

// The documented error: relative standard error 1.04 / sqrt(4096) = 1.625%; every estimate
// here must be within 3 standard errors, and most within one.
TEST(DistinctCounter, SketchPastTheLimitIsWithinTheDocumentedError) {
  const double se = 1.04 / std::sqrt(double(DistinctCounter::kRegisters));
  int within_one = 0, trials = 0;
  for (int n : {2'000, 10'000, 50'000, 200'000}) {
    for (int seed = 0; seed < 5; ++seed, ++trials) {
      DistinctCounter d;
      for (int i = 0; i < n; ++i)
        d.add(Value::string("user-" + std::to_string(seed) + "-" + std::to_string(i)), 1000);
      EXPECT_FALSE(d.exact());
      const double error = std::fabs(double(d.estimate()) - n) / n;
      EXPECT_LE(error, 3 * se) << n << " values, seed " << seed << ": " << d.estimate();
      within_one += error <= se ? 1 : 0;
    }
  }
  EXPECT_GE(within_one, trials / 2);
}

TEST(DistinctCounter, MergedSketchesEqualTheSketchOfTheUnion) {
  DistinctCounter a, b, all;
  for (int i = 0; i < 30'000; ++i) {
    const Value v = Value::integer(i);
    (i % 3 == 0 ? a : b).add(v, 100);
    all.add(v, 100);
    if (i % 7 == 0) a.add(v, 100);  // duplicates across the two
  }
  a.merge(b, 100);
  EXPECT_EQ(a.estimate(), all.estimate());
  // An exact set merged into a sketch, and a sketch into an exact set.
  DistinctCounter small;
  small.add(Value::integer(-1), 100);
  DistinctCounter s1 = small;
  s1.merge(all, 100);
  DistinctCounter s2 = all;
  s2.merge(small, 100);
  EXPECT_EQ(s1.estimate(), s2.estimate());
}

TEST(DistinctCounter, SnapshotRoundTrip) {
  for (int n : {10, 5000}) {
    DistinctCounter d;
    for (int i = 0; i < n; ++i) d.add(Value::integer(i), 1000);
    StateWriter w;
    d.write(w);
    StateReader r(w.data());
    EXPECT_EQ(DistinctCounter::read(r).estimate(), d.estimate());
    EXPECT_TRUE(r.done());
  }
}

}  // namespace
}  // namespace segflow

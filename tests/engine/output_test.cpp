// Output: batching of emitted records, and forward_all handing whole batches on without a
// copy when the output can (and copying them record by record otherwise).
#include "engine/output.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace segflow {
namespace {

// What an Output handed on: each batch's keys, and whether it came as a view.
struct Delivered {
  std::vector<std::vector<std::string>> batches;
  std::vector<bool> views;
  std::vector<int64_t> stamps;
};

std::vector<std::string> keys_of(const Batch& b) {
  std::vector<std::string> keys;
  for (const Record& r : b.records()) keys.emplace_back(r.key);
  return keys;
}

Output recording_output(Delivered& d, size_t batch_size, bool with_views) {
  Output::DeliverView view = nullptr;
  if (with_views)
    view = [&d](const Batch& b, int64_t ingest_ns) {
      d.batches.push_back(keys_of(b));
      d.views.push_back(true);
      d.stamps.push_back(ingest_ns);
    };
  return Output(
      [&d](BatchPtr& b) {
        d.batches.push_back(keys_of(*b));
        d.views.push_back(false);
        d.stamps.push_back(b->ingest_ns());
      },
      batch_size, std::move(view));
}

BatchPtr batch_of(const std::vector<std::string>& keys, int64_t stamp) {
  BatchPtr b = BatchPool::acquire();
  for (const std::string& k : keys)
    b->add(EventKind::kTrack, k, 1, intern("e")).set("p", Value::string(k + "-value"));
  b->note_ingest(stamp);
  return b;
}

TEST(OutputTest, ForwardAllHandsALargeBatchOnAfterThePendingRecords) {
  Delivered d;
  Output out = recording_output(d, 4, true);
  const BatchPtr src = batch_of({"a", "b", "c"}, 50);
  out.set_ingest_cause(70);
  out.add(EventKind::kTrack, "first", 1, intern("e"));
  out.forward_all(*src);
  out.add(EventKind::kTrack, "last", 1, intern("e"));
  out.flush();
  ASSERT_EQ(d.batches.size(), 3u);
  EXPECT_EQ(d.batches[0], std::vector<std::string>{"first"});
  EXPECT_FALSE(d.views[0]);
  EXPECT_EQ(d.batches[1], (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(d.views[1]);
  EXPECT_EQ(d.stamps[1], 50);  // the earlier of the batch's stamp and the cause
  EXPECT_EQ(d.batches[2], std::vector<std::string>{"last"});
  EXPECT_EQ(out.emitted(), 5u);
}

TEST(OutputTest, ForwardAllCopiesSmallBatchesAndWithoutAViewDeliverer) {
  for (const bool with_views : {true, false}) {
    Delivered d;
    Output out = recording_output(d, 8, with_views);
    const BatchPtr small = batch_of({"a", "b", "c"}, 50);  // under half the batch size
    const BatchPtr large = batch_of({"d", "e", "f", "g", "h"}, 40);
    out.forward_all(*small);
    out.forward_all(*large);
    out.flush();
    std::vector<std::string> all;
    for (const auto& b : d.batches) all.insert(all.end(), b.begin(), b.end());
    EXPECT_EQ(all, (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g", "h"}));
    if (with_views) {
      ASSERT_EQ(d.batches.size(), 2u);
      EXPECT_FALSE(d.views[0]);  // copied: a batch of its own would be too small
      EXPECT_TRUE(d.views[1]);
    } else {
      for (bool v : d.views) EXPECT_FALSE(v);
    }
  }
}

TEST(OutputTest, ForwardAllCopiesAreDeep) {
  std::vector<std::string> values;
  Output out(
      [&](BatchPtr& b) {
        for (const Record& r : b->records())
          values.emplace_back(b->find(r, intern("p"))->as_string());
      },
      8);
  {
    const BatchPtr src = batch_of({"x", "y"}, kNoIngestTime);
    out.forward_all(*src);
  }  // the source batch is recycled before the output flushes
  BatchPtr reuse = batch_of({"zzzzzzzzzzzzzzzz", "zzzzzzzzzzzzzzzzzz"}, kNoIngestTime);
  out.flush();
  EXPECT_EQ(values, (std::vector<std::string>{"x-value", "y-value"}));
}

}  // namespace
}  // namespace segflow

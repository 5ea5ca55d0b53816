// Router: hash partitioning by reference (selections of a frozen batch, which stays alive
// until the last selection is released) and by copy (small or unfrozen batches), with the
// same records reaching the same targets in the same order either way.
#include "engine/router.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "engine/key_group.h"

namespace segflow {
namespace {

constexpr size_t kBatchSize = 16;
constexpr uint32_t kMaxParallelism = 128;

// Two hash targets, a forward one: what each channel received, as "key:name" strings, with
// the batches themselves (not yet released).
struct Fixture {
  Wakeup wakeup;
  Channel a{"a", 64, wakeup}, b{"b", 64, wakeup}, f{"f", 64, wakeup};
  Router router{kBatchSize, kMaxParallelism, nullptr};
  Fixture() {
    router.add_edge(Partitioning::kHash, {&a, &b});
    router.add_edge(Partitioning::kForward, {&f});
  }
  static std::vector<BatchPtr> drain(Channel& c) {
    std::vector<BatchPtr> out;
    Element e;
    while (c.pop(e))
      if (e.kind == ElementKind::kBatch) out.emplace_back(e.batch);
    return out;
  }
};

BatchPtr make_batch(size_t records, int first) {
  BatchPtr batch = BatchPool::acquire();
  for (size_t i = 0; i < records; ++i) {
    const std::string key = "profile-" + std::to_string(first + static_cast<int>(i));
    batch->add(EventKind::kTrack, key, first + static_cast<int64_t>(i), intern("Viewed"))
        .set("name", Value::string("product " + key));
  }
  return batch;
}

std::vector<std::string> contents(const std::vector<BatchPtr>& batches) {
  std::vector<std::string> out;
  for (const BatchPtr& batch : batches)
    for (const Record& r : batch->records())
      out.push_back(std::string(r.key) + ":" +
                    std::string(batch->find(r, intern("name"))->as_string()));
  return out;
}

std::vector<std::string> expected_for(uint32_t target, size_t records, int first) {
  std::vector<std::string> out;
  for (size_t i = 0; i < records; ++i) {
    const std::string key = "profile-" + std::to_string(first + static_cast<int>(i));
    if (subtask_of_key_group(key_group_of(key, kMaxParallelism), kMaxParallelism, 2) == target)
      out.push_back(key + ":product " + key);
  }
  return out;
}

TEST(RouterTest, FlushWakesEveryConsumerItHasNotWoken) {
  Fixture fx;
  // Batches one right after the other: the later ones are deferred (unless this thread is
  // descheduled for longer than Channel::kRapidPushNs between two of them).
  for (int i = 0; i < 3; ++i) {
    BatchPtr batch = make_batch(kBatchSize, i * static_cast<int>(kBatchSize));
    fx.router.route(batch);
  }
  fx.router.flush();
  EXPECT_FALSE(fx.a.deferred());
  EXPECT_FALSE(fx.b.deferred());
  EXPECT_FALSE(fx.f.deferred());
  fx.drain(fx.a);
  fx.drain(fx.b);
  fx.drain(fx.f);
}

TEST(RouterTest, FullBatchGoesByReferenceAndLivesUntilItsLastSelectionIsReleased) {
  Fixture fx;
  BatchPtr batch = make_batch(kBatchSize, 0);
  const Batch* original = batch.get();
  const size_t in_use = BatchPool::in_use();
  fx.router.route(batch);
  EXPECT_EQ(batch, nullptr);  // taken over
  std::vector<BatchPtr> to_a = Fixture::drain(fx.a), to_b = Fixture::drain(fx.b),
                        to_f = Fixture::drain(fx.f);
  ASSERT_EQ(to_a.size(), 1u);
  ASSERT_EQ(to_b.size(), 1u);
  ASSERT_EQ(to_f.size(), 1u);
  EXPECT_EQ(&to_a[0]->root(), original);
  EXPECT_EQ(&to_b[0]->root(), original);
  EXPECT_EQ(to_f[0].get(), original);  // the last edge forwards the batch itself
  EXPECT_EQ(contents(to_a), expected_for(0, kBatchSize, 0));
  EXPECT_EQ(contents(to_b), expected_for(1, kBatchSize, 0));
  EXPECT_EQ(contents(to_f).size(), kBatchSize);
  // Released from other threads, in any order: the root stays readable until the last.
  to_f.clear();
  std::thread([&] { to_a.clear(); }).join();
  EXPECT_EQ(contents(to_b), expected_for(1, kBatchSize, 0));
  EXPECT_EQ(BatchPool::in_use(), in_use + 1);  // the root, held by b's selection
  to_b.clear();
  EXPECT_EQ(BatchPool::in_use(), in_use - 1);
}

TEST(RouterTest, SmallBatchesAreCopiedAndStayInOrderWithTheReferencedOnes) {
  Fixture fx;
  BatchPtr small = make_batch(3, 100);
  const Batch* small_batch = small.get();
  fx.router.route(small);
  BatchPtr full = make_batch(kBatchSize, 200);
  fx.router.route(full);
  std::vector<BatchPtr> to_a = Fixture::drain(fx.a), to_b = Fixture::drain(fx.b),
                        to_f = Fixture::drain(fx.f);
  ASSERT_FALSE(to_a.empty());
  EXPECT_EQ(&to_a[0]->root(), to_a[0].get());  // the small batch's records: copied
  ASSERT_EQ(to_f.size(), 2u);
  EXPECT_EQ(to_f[0].get(), small_batch);  // the last edge still takes the batch itself
  EXPECT_FALSE(to_f[0]->frozen());
  std::vector<std::string> expected_a = expected_for(0, 3, 100),
                           expected_b = expected_for(1, 3, 100);
  for (const std::string& s : expected_for(0, kBatchSize, 200)) expected_a.push_back(s);
  for (const std::string& s : expected_for(1, kBatchSize, 200)) expected_b.push_back(s);
  EXPECT_EQ(contents(to_a), expected_a);
  EXPECT_EQ(contents(to_b), expected_b);
}

TEST(RouterTest, ViewsAreReferencedOnlyWhenFrozen) {
  Fixture fx;
  BatchPtr view = make_batch(kBatchSize, 300);
  fx.router.route(*view, 5);
  fx.router.flush();  // copies wait in per-target batches until full
  std::vector<BatchPtr> to_a = Fixture::drain(fx.a);
  ASSERT_FALSE(to_a.empty());
  EXPECT_NE(&to_a[0]->root(), view.get());  // copied: the view may change after the call
  EXPECT_EQ(to_a[0]->ingest_ns(), 5);
  view->freeze();
  fx.router.route(*view, 7);
  to_a = Fixture::drain(fx.a);
  ASSERT_EQ(to_a.size(), 1u);
  EXPECT_EQ(&to_a[0]->root(), view.get());
  EXPECT_EQ(to_a[0]->ingest_ns(), 7);
  EXPECT_EQ(contents(to_a), expected_for(0, kBatchSize, 300));
  std::vector<BatchPtr> to_f = Fixture::drain(fx.f);
  ASSERT_EQ(to_f.size(), 2u);
  EXPECT_EQ(&to_f[1]->root(), view.get());
  Fixture::drain(fx.b);
}

}  // namespace
}  // namespace segflow

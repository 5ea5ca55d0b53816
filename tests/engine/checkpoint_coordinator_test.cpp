// Checkpoints through the executor with test-local operators: barriers aligned over several
// inputs (one of them an idle source), a restore at another parallelism that continues
// exactly where the checkpoint was taken (the counts are snapshotted asynchronously, while
// counting goes on), and the coordinator's bookkeeping.
#include "engine/checkpoint_coordinator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <thread>

#include "engine/executor.h"
#include "tests/support/graph_support.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

constexpr int kKeys = 10;

// Emits records k0..k9 round robin, 50 per poll, up to `limit` (or until the job stops);
// its position is its state.
class ResumableSource final : public Source {
 public:
  explicit ResumableSource(int64_t limit) : limit_(limit) {}
  SourceStatus poll(Output& out) override {
    if (emitted_ >= limit_) return SourceStatus::kEnd;
    for (int i = 0; i < 50 && emitted_ < limit_; ++i, ++emitted_)
      out.add(EventKind::kTrack, "k" + std::to_string(emitted_ % kKeys), emitted_, intern("tick"));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    return SourceStatus::kMore;
  }
  void snapshot(StateWriter& w) const override { w.u64(static_cast<uint64_t>(emitted_)); }
  void restore(StateReader& r) override { emitted_ = static_cast<int64_t>(r.u64()); }

 private:
  int64_t limit_;
  int64_t emitted_ = 0;
};

// Never has anything: an idle input that must not hold barriers back.
class QuietSource final : public Source {
 public:
  SourceStatus poll(Output&) override { return SourceStatus::kIdle; }
};

// Counts per key in keyed state; emits "key=count" at end of stream.
class CheckpointedCount final : public Operator {
 public:
  void open(OperatorContext& ctx) override {
    Operator::open(ctx);
    counts_ = std::make_unique<ValueState<int64_t>>(ctx.state_scope());
  }
  void process(const Batch& in, Output&) override {
    for (const Record& r : in.records()) {
      ++counts_->get_or_create(r.key);
      ctx().timers->register_timer(TimeDomain::kEventTime, kMaxTime - 1, r.key);
    }
  }
  void on_timer(const Timer& t, Output& out) override {
    out.add(EventKind::kDerived, t.key, 0, intern("count"))
        .set("count", Value::integer(*counts_->get(t.key)));
  }
  void snapshot(StateWriter& w) const override { counts_->snapshot(w); }
  // Written after the barrier by the subtask's deferred thread while counting goes on.
  DeferredSnapshot snapshot_async(StateWriter&) override { return counts_->snapshot_async(); }
  void restore(StateReader& r) override { counts_->restore(r); }

 private:
  std::unique_ptr<ValueState<int64_t>> counts_;
};

struct Totals {
  std::mutex mutex;
  std::map<std::string, int64_t> by_key;
};

class TotalsSink final : public Operator {
 public:
  explicit TotalsSink(Totals& t) : totals_(t) {}
  void process(const Batch& in, Output&) override {
    std::lock_guard lock(totals_.mutex);
    for (const Record& r : in.records())
      for (const Property& p : in.properties(r))
        totals_.by_key[std::string(r.key)] += p.value.as_int();
  }

 private:
  Totals& totals_;
};

DeadLetterOutput& dead_letters() {
  static DeadLetterOutput d;
  return d;
}

// src (2 subtasks) and quiet (1) -> count (`count_parallelism`, 3 inputs each) -> sink.
LogicalGraph graph(uint32_t count_parallelism, int64_t limit, bool with_quiet, Totals& totals) {
  LogicalGraph g;
  g.add(
      testing::source_node("src", 2, [limit] { return std::make_unique<ResumableSource>(limit); }));
  std::vector<LogicalEdge> inputs = {{"src", Partitioning::kHash}};
  if (with_quiet) {
    g.add(testing::source_node("quiet", 1, [] { return std::make_unique<QuietSource>(); }));
    inputs.push_back({"quiet", Partitioning::kHash});
  }
  g.add(testing::operator_node("count", count_parallelism, inputs,
                               [] { return std::make_unique<CheckpointedCount>(); }));
  g.add(testing::operator_node("sink", 1, {{"count", Partitioning::kRebalance}},
                               [&totals] { return std::make_unique<TotalsSink>(totals); }));
  g.validate();
  return g;
}

TEST(CheckpointCoordinatorTest, AlignedCheckpointRestoresExactlyAtAnotherParallelism) {
  testing::TempDir dir;
  JobSettings s;
  s.checkpoints.interval_ms = 5;
  s.checkpoints.dir = dir.file("checkpoints");
  s.checkpoints.retain = 2;
  constexpr int64_t kLimit = 1'000'000;  // per source subtask; the first run is stopped early

  // Run 1: stop once three checkpoints completed (the idle source did not block them).
  Totals ignored;
  Executor first(graph(3, kLimit, /*with_quiet=*/true, ignored), s,
                 {&SystemClock::instance(), &dead_letters()});
  std::thread stopper([&] {
    while (first.checkpoint_stats()->completed.load() < 3 && first.state() != JobState::kFinished)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    first.stop();
  });
  first.run();
  stopper.join();
  ASSERT_GE(first.checkpoint_stats()->completed.load(), 3u);
  EXPECT_EQ(first.checkpoint_stats()->failed.load(), 0u);
  EXPECT_GT(first.checkpoint_stats()->last_size_bytes.load(), 0u);

  // Run 2: from the newest checkpoint, with the counting operator at parallelism 2, to the
  // end of both sources: every record counted once, whatever the first run did after the
  // checkpoint.
  const auto restored = checkpoint_storage::load_latest(s.checkpoints.dir, false);
  ASSERT_TRUE(restored.has_value());
  EXPECT_EQ(restored->id, first.checkpoint_stats()->last_completed_id.load());
  const auto& src = restored->by_operator.at("src");
  ASSERT_EQ(src.size(), 2u);
  uint64_t furthest = 0;
  for (const OperatorSnapshot& snap : src) {
    StateReader position(snap.state);
    const uint64_t emitted = position.u64();
    EXPECT_GT(emitted, 0u);  // the checkpoint is not of an empty stream
    furthest = std::max(furthest, emitted);
  }

  // Beyond both checkpointed positions (however far a loaded machine let run 1 go), and a
  // multiple of kKeys so that every key gets the same count.
  const int64_t kEnd = (static_cast<int64_t>(furthest) / kKeys + 1) * kKeys + 20'000;
  Totals totals;
  RuntimeServices services;
  services.dead_letters = &dead_letters();
  services.restore = &*restored;
  Executor second(graph(2, kEnd, /*with_quiet=*/false, totals), s, services);
  EXPECT_EQ(second.checkpoint_stats()->restored_id.load(), restored->id);
  second.run();
  ASSERT_EQ(totals.by_key.size(), static_cast<size_t>(kKeys));
  for (const auto& [key, count] : totals.by_key) EXPECT_EQ(count, 2 * kEnd / kKeys) << key;
}

TEST(CheckpointCoordinatorTest, FinishedSubtaskAbortsTheCheckpointInFlight) {
  testing::TempDir dir;
  CheckpointSettings settings{1, dir.file("c"), 2};
  CheckpointCoordinator coordinator(settings, 2, 1);
  std::thread loop([&] { coordinator.run(); });
  while (coordinator.triggered() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  coordinator.submit(1, 0, "a.state", {}, 0);
  coordinator.finished(1);  // subtask 1 ends without a snapshot
  EXPECT_EQ(coordinator.stats().aborted.load(), 1u);
  coordinator.submit(1, 1, "b.state", {}, 0);  // too late: ignored
  // No checkpoint is triggered once a subtask has finished.
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(coordinator.triggered(), 1);
  coordinator.stop();
  loop.join();
  EXPECT_EQ(coordinator.completed(), 0);
  EXPECT_EQ(coordinator.stats().completed.load(), 0u);
  EXPECT_FALSE(checkpoint_storage::load_latest(settings.dir, true).has_value());
}

TEST(CheckpointCoordinatorTest, LastSnapshotWrittenCompletesWithMetadata) {
  testing::TempDir dir;
  CheckpointSettings settings{1, dir.file("c"), 2};
  CheckpointCoordinator coordinator(settings, 2, 5);  // as after a restore of checkpoint 4
  EXPECT_EQ(coordinator.completed(), 4);
  std::thread loop([&] { coordinator.run(); });
  while (coordinator.triggered() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(coordinator.triggered(), 5);
  coordinator.submit(5, 1, "a.state", {{"a", 0, 1, "state-a", ""}}, 7);
  coordinator.submit(5, 0, "b.state", {}, 3);
  // Snapshots submitted before stop() are still written: the checkpoint completes.
  coordinator.stop();
  loop.join();
  EXPECT_EQ(coordinator.completed(), 5);
  EXPECT_EQ(coordinator.stats().last_alignment_ns.load(), 7);
  const CheckpointData data = checkpoint_storage::load_from(settings.dir);
  EXPECT_EQ(data.id, 5);
  EXPECT_EQ(data.by_operator.at("a").front().state, "state-a");
}

}  // namespace
}  // namespace segflow

// Pre-generated input for benchmarks that measure the engine from decoded events: polls a
// source to the end into batches before any timing, and a source that replays them.
#pragma once

#include <vector>

#include "engine/batch.h"
#include "engine/operator.h"
#include "engine/output.h"

namespace segflow::bench {

// Polls `source` (as subtask 0 of 1) to the end into batches of `batch_size` records,
// frozen (Batch::freeze): they never change, so the runtime routes them by reference.
inline std::vector<BatchPtr> pregenerate(Source& source, size_t batch_size = 512) {
  std::vector<BatchPtr> batches;
  OperatorContext ctx;
  source.open(ctx);
  Output out(
      [&](BatchPtr& b) {
        b->freeze();
        batches.push_back(std::move(b));
      },
      batch_size);
  while (source.poll(out) == SourceStatus::kMore) {
  }
  out.flush();
  return batches;
}

// Replays pre-built batches: subtask i of p hands on batches i, i + p, i + 2p, ... as they
// are (Output::forward_all: the runtime copies records only where it routes them).
class MemorySource final : public Source {
 public:
  explicit MemorySource(const std::vector<BatchPtr>& batches) : batches_(batches) {}
  void open(OperatorContext& ctx) override {
    Source::open(ctx);
    next_ = ctx.subtask;
  }
  SourceStatus poll(Output& out) override {
    if (next_ >= batches_.size()) return SourceStatus::kEnd;
    out.forward_all(*batches_[next_]);  // no copy: the batch is handed on (or referenced)
    next_ += ctx().parallelism;
    return next_ >= batches_.size() ? SourceStatus::kEnd : SourceStatus::kMore;
  }

 private:
  const std::vector<BatchPtr>& batches_;
  size_t next_ = 0;
};

}  // namespace segflow::bench

// Pre-generated input for benchmarks that measure the engine from decoded events: polls a
// source to the end into batches before any timing, and a source that replays them.
#pragma once

#include <vector>

#include "engine/batch.h"
#include "engine/operator.h"
#include "engine/output.h"

namespace segflow::bench {

// Polls `source` (as subtask 0 of 1) to the end into batches of `batch_size` records.
inline std::vector<BatchPtr> pregenerate(Source& source, size_t batch_size = 512) {
  std::vector<BatchPtr> batches;
  OperatorContext ctx;
  source.open(ctx);
  Output out([&](BatchPtr& b) { batches.push_back(std::move(b)); }, batch_size);
  while (source.poll(out) == SourceStatus::kMore) {
  }
  out.flush();
  return batches;
}

// Replays pre-built batches: subtask i of p re-emits batches i, i + p, i + 2p, ...
class MemorySource final : public Source {
 public:
  explicit MemorySource(const std::vector<BatchPtr>& batches) : batches_(batches) {}
  void open(OperatorContext& ctx) override {
    Source::open(ctx);
    next_ = ctx.subtask;
  }
  SourceStatus poll(Output& out) override {
    if (next_ >= batches_.size()) return SourceStatus::kEnd;
    for (const Record& r : batches_[next_]->records()) out.forward(*batches_[next_], r);
    next_ += ctx().parallelism;
    return next_ >= batches_.size() ? SourceStatus::kEnd : SourceStatus::kMore;
  }

 private:
  const std::vector<BatchPtr>& batches_;
  size_t next_ = 0;
};

}  // namespace segflow::bench

// DiscardSink (`type: discard`, no keys): counts the records it receives and drops them, so
// that a benchmark measures the job and not the encoding of its output (as Flink's
// blackhole connector in the Nexmark runs). Thread safety: one instance per subtask.
#pragma once

#include <cstdint>

#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class DiscardSink final : public Operator {
 public:
  struct Config {
    static Config parse(const ConfigNode& node);
  };

  explicit DiscardSink(const Config& /*config*/) {}
  void process(const Batch& in, Output& /*out*/) override { received_ += in.size(); }

  uint64_t received() const { return received_; }

 private:
  uint64_t received_ = 0;
};

}  // namespace segflow

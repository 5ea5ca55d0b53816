// StdoutSink (`type: stdout`, no keys): writes every record as one JSON line (the format of
// connectors/json/record_json.h) to standard output, one write per batch, flushed after
// every batch so output appears promptly. Thread safety: one instance per subtask; the
// subtasks of a parallel sink share stdout, and each batch's lines stay together.
// Guarantee with checkpoints: at-least-once (lines are printed at once; after a restart
// from a checkpoint, those printed since it are printed again).
#pragma once

#include <string>

#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

class StdoutSink final : public Operator {
 public:
  struct Config {
    static Config parse(const ConfigNode& node);
  };

  explicit StdoutSink(const Config& /*config*/) {}
  void process(const Batch& in, Output& out) override;
  void close(Output& out) override;

 private:
  std::string buffer_;  // the lines of one batch, reused
};

}  // namespace segflow

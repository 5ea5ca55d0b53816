#include "connectors/discard/discard_sink.h"

#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("discard", DiscardSink);

DiscardSink::Config DiscardSink::Config::parse(const ConfigNode& node) {
  node.expect_map();
  return Config{};
}

}  // namespace segflow

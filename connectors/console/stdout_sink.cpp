#include "connectors/console/stdout_sink.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "connectors/json/record_json.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("stdout", StdoutSink);

StdoutSink::Config StdoutSink::Config::parse(const ConfigNode& node) {
  node.expect_map();
  return Config{};
}

void StdoutSink::process(const Batch& in, Output& /*out*/) {
  buffer_.clear();
  for (const Record& r : in.records()) {
    append_record_json(buffer_, in, r);
    buffer_ += '\n';
  }
  if (std::fwrite(buffer_.data(), 1, buffer_.size(), stdout) != buffer_.size() ||
      std::fflush(stdout) != 0)
    throw std::runtime_error(std::string("stdout: cannot write: ") + std::strerror(errno));
}

void StdoutSink::close(Output& /*out*/) { std::fflush(stdout); }

}  // namespace segflow

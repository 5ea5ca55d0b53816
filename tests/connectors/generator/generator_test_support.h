// Drives a GeneratorSource the way the runtime does (open, poll until the end) and turns
// its records into plain values tests can inspect. Header-only: the test glob compiles
// *_test.cpp files only. For the generator tests.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "connectors/generator/generator_source.h"
#include "connectors/json/record_json.h"
#include "engine/clock.h"

namespace segflow::testing {

inline ConfigNode config_node(const std::string& yaml) {
  return ConfigNode(YAML::Load(yaml), std::make_shared<const std::string>("test.yaml"), "");
}

inline GeneratorSource::Config generator_config(const std::string& yaml) {
  const ConfigNode node = config_node(yaml);
  GeneratorSource::Config config = GeneratorSource::Config::parse(node);
  node.finish();
  return config;
}

// One record, copied out of its batch.
struct GeneratedRecord {
  EventKind kind;
  std::string event;
  std::string key;
  int64_t time;
  std::map<std::string, std::string> strings;  // string properties
  std::map<std::string, double> numbers;       // numeric properties
  std::string json;                            // the record as the sinks write it

  bool has(const std::string& name) const { return strings.count(name) || numbers.count(name); }
  std::string string(const std::string& name) const {
    auto it = strings.find(name);
    return it == strings.end() ? "" : it->second;
  }
};

struct GeneratorRun {
  std::vector<GeneratedRecord> records;
  size_t polls = 0;
};

// Copies the records of `batch` out.
inline std::vector<GeneratedRecord> to_records(const Batch& batch) {
  std::vector<GeneratedRecord> out;
  for (const Record& r : batch.records()) {
    GeneratedRecord g{
        r.kind, std::string(symbol_name(r.event)), std::string(r.key), r.event_time, {}, {}, {}};
    for (const Property& p : batch.properties(r)) {
      const std::string name(symbol_name(p.name));
      if (p.value.is_string())
        g.strings[name] = std::string(p.value.as_string());
      else if (p.value.is_number())
        g.numbers[name] = *p.value.number();
      else
        throw std::logic_error("unexpected property type of " + name);
    }
    append_record_json(g.json, batch, r);
    out.push_back(std::move(g));
  }
  return out;
}

// Polls an open `source` until kEnd (at most `max_polls` polls), appending to `run`.
inline void poll_to_end(GeneratorSource& source, GeneratorRun& run, size_t max_polls = SIZE_MAX) {
  Output out(
      [&](BatchPtr& batch) {
        for (GeneratedRecord& r : to_records(*batch)) run.records.push_back(std::move(r));
      },
      512);
  for (size_t i = 0; i < max_polls; ++i) {
    ++run.polls;
    const SourceStatus status = source.poll(out);
    if (status == SourceStatus::kEnd) break;
    if (status == SourceStatus::kIdle) throw std::logic_error("unpaced generator went idle");
  }
  out.flush();
}

// Opens a source as subtask `subtask` of `parallelism` and polls it until kEnd.
inline GeneratorRun run_generator(const GeneratorSource::Config& config, uint32_t subtask = 0,
                                  uint32_t parallelism = 1) {
  OperatorContext ctx;
  ctx.operator_id = "events";
  ctx.subtask = subtask;
  ctx.parallelism = parallelism;
  GeneratorSource source(config);
  source.open(ctx);
  GeneratorRun run;
  poll_to_end(source, run);
  source.close();
  return run;
}

}  // namespace segflow::testing

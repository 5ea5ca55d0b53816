// jobs/retail.yaml's segments over a fixed small generated input, checked exactly: the job
// runs (as shipped, with a smaller generator, parallelism 1 and 2, no emitted_at) with a
// second sink writing the generated events; the expected changes are computed from those
// events by the naive reference evaluator (tests/support/segment_reference.h), which
// recomputes every rule from the full event list at every instant, sharing nothing with
// the operator but the parsed rule definitions.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "connectors/json/iso8601.h"
#include "operators/segment/segments_operator.h"
#include "tests/support/segment_reference.h"
#include "tests/support/test_support.h"

namespace segflow {
namespace {

using testing::InputRecord;

// A value token normalised for comparison: numbers as %.17g of their double.
std::string normalise(const std::string& text) {
  if (text.empty() || text == "null" || text == "true" || text == "false" || text[0] == '"')
    return text;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", std::stod(text));
  return buf;
}

// "derived <key> @<time> <event> name=value ..." with normalised values.
std::string normalise_line(const std::string& line) {
  std::vector<std::string> tokens;
  size_t start = 0;
  while (start <= line.size()) {
    const size_t end = std::min(line.find(' ', start), line.size());
    tokens.push_back(line.substr(start, end - start));
    start = end + 1;
  }
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const size_t eq = tokens[i].find('=');
    out +=
        (i ? " " : "") + (i < 4 || eq == std::string::npos
                              ? tokens[i]
                              : tokens[i].substr(0, eq + 1) + normalise(tokens[i].substr(eq + 1)));
  }
  return out;
}

int64_t time_of(const YAML::Node& line) {
  int64_t ms = 0;
  EXPECT_TRUE(parse_iso8601(line["timestamp"].as<std::string>(), ms));
  return ms;
}

// One line of the file sink, parsed as YAML (JSON is YAML), into an InputRecord.
InputRecord input_record(const std::string& json) {
  const YAML::Node line = YAML::Load(json);
  InputRecord r;
  r.key = line["profile"].as<std::string>();
  r.time = time_of(line);
  r.event = line["event"].as<std::string>();
  EXPECT_TRUE(parse_event_kind(line["type"].as<std::string>(), r.kind));
  for (const auto& kv : line) {
    const std::string name = kv.first.as<std::string>();
    if (name == "type" || name == "event" || name == "profile" || name == "timestamp") continue;
    const YAML::Node& v = kv.second;
    const std::string text = v.Scalar();
    if (v.IsNull()) {
      r.properties.emplace_back(name, nullptr);
    } else if (v.Tag() == "!") {
      r.properties.emplace_back(name, text);  // quoted: a string
    } else if (text == "true" || text == "false") {
      r.properties.emplace_back(name, text == "true");
    } else if (text.find_first_of(".eE") == std::string::npos) {
      r.properties.emplace_back(name, static_cast<int64_t>(std::stoll(text)));
    } else {
      r.properties.emplace_back(name, std::stod(text));
    }
  }
  return r;
}

// An output line of the segments operator in OutputRecord::str() form, values normalised.
std::string change_line(const std::string& json) {
  const YAML::Node line = YAML::Load(json);
  std::string out = "derived " + line["profile"].as<std::string>() + " @" +
                    std::to_string(time_of(line)) + " " + line["event"].as<std::string>();
  for (const auto& kv : line) {
    const std::string name = kv.first.as<std::string>();
    if (name == "type" || name == "event" || name == "profile" || name == "timestamp") continue;
    const std::string text = kv.second.IsNull() ? "null" : kv.second.Scalar();
    out += " " + name + "=" + (kv.second.Tag() == "!" ? "\"" + text + "\"" : normalise(text));
  }
  return out;
}

TEST(RetailSegments, OutputMatchesTheReferenceEvaluatorExactly) {
  testing::TempDir dir;
  YAML::Node job = YAML::LoadFile(std::string(SEGFLOW_SOURCE_DIR) + "/jobs/retail.yaml");
  job["sources"][0]["events"] = 6000;
  job["sources"][0]["users"] = 60;
  job["dead_letter"]["path"] = dir.file("dead.jsonl");
  YAML::Node segments = job["operators"][0];
  ASSERT_EQ(segments["type"].as<std::string>(), "segments");
  segments["emitted_at"] = false;
  YAML::Node sinks(YAML::NodeType::Sequence);
  YAML::Node changes, raw;
  changes["id"] = "changes";
  changes["type"] = "file_sink";
  changes["path"] = dir.file("changes.jsonl");
  changes["input"] = segments["id"];
  raw["id"] = "raw";
  raw["type"] = "file_sink";
  raw["path"] = dir.file("raw.jsonl");
  raw["input"] = job["sources"][0]["id"];
  sinks.push_back(changes);
  sinks.push_back(raw);
  job["sinks"] = sinks;
  YAML::Emitter emitter;
  emitter << job;
  testing::write_file(dir.file("job.yaml"), emitter.c_str());

  YAML::Node rules;  // the operator's own settings, without the graph keys
  rules["segments"] = segments["segments"];
  if (segments["rfm"]) rules["rfm"] = segments["rfm"];
  rules["emitted_at"] = false;
  const SegmentsOperator::Config config = SegmentsOperator::Config::parse(
      ConfigNode(rules, std::make_shared<const std::string>("retail.yaml"), "segments"));
  std::vector<std::string> expected;
  for (int parallelism : {1, 2}) {
    SCOPED_TRACE("parallelism " + std::to_string(parallelism));
    testing::run_command(std::string(SEGFLOW_BINARY) + " run " + dir.file("job.yaml") +
                         " --set parallelism=" + std::to_string(parallelism) + " > /dev/null 2>&1");
    std::vector<InputRecord> events;  // sinks run at parallelism 1: one file each
    for (const std::string& l : testing::read_lines(dir.file("raw.jsonl")))
      events.push_back(input_record(l));
    std::vector<std::string> actual;
    for (const std::string& l : testing::read_lines(dir.file("changes.jsonl")))
      actual.push_back(change_line(l));
    ASSERT_EQ(events.size(), 6000u);
    if (expected.empty()) {
      for (const std::string& l : testing::reference_segment_changes(config.rules, events))
        expected.push_back(normalise_line(l));
      std::sort(expected.begin(), expected.end());
    }
    std::sort(actual.begin(), actual.end());
    EXPECT_EQ(actual, expected);
    EXPECT_GT(expected.size(), 100u);
  }
}

}  // namespace
}  // namespace segflow

#include "runner/job_spec.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "engine/config_node.h"
#include "engine/spec_error.h"

namespace segflow {

namespace {

YAML::Node resolve_segment(YAML::Node parent, const std::string& segment, const std::string& path,
                           bool last) {
  if (parent.IsSequence()) {
    for (size_t i = 0; i < parent.size(); ++i)
      if (parent[i].IsMap() && parent[i]["id"] && parent[i]["id"].Scalar() == segment)
        return parent[i];
    if (!segment.empty() && segment.find_first_not_of("0123456789") == std::string::npos &&
        std::stoul(segment) < parent.size())
      return parent[std::stoul(segment)];
    throw SpecError("--set " + path + ": no list element '" + segment + "'");
  }
  if (parent.IsMap() || parent.IsNull()) {
    if (!last && !parent[segment]) parent[segment] = YAML::Node(YAML::NodeType::Map);
    return parent[segment];
  }
  throw SpecError("--set " + path + ": '" + segment + "' is inside a single value");
}

void apply_override(YAML::Node root, const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw SpecError("--set " + assignment + ": expected key.path=value");
  const std::string path = assignment.substr(0, eq);
  std::vector<std::string> segments;
  std::stringstream ss(path);
  for (std::string s; std::getline(ss, s, '.');) segments.push_back(s);
  YAML::Node node = root;
  // reset(), not '=': assigning a YAML::Node overwrites the node it refers to.
  for (size_t i = 0; i + 1 < segments.size(); ++i)
    node.reset(resolve_segment(node, segments[i], path, false));
  if (node.IsSequence()) throw SpecError("--set " + path + ": cannot replace a list element");
  node[segments.back()] = YAML::Load(assignment.substr(eq + 1));
}

Partitioning parse_partitioning(const ConfigNode& node, const std::string& key) {
  const std::string p = node.string(key);
  if (p == "forward") return Partitioning::kForward;
  if (p == "hash") return Partitioning::kHash;
  if (p == "broadcast") return Partitioning::kBroadcast;
  if (p == "rebalance") return Partitioning::kRebalance;
  node.fail_at(key, "unknown partitioning '" + p + "' (forward, hash, broadcast, rebalance)");
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Reads one entry of sources/operators/sinks into a logical node (edges resolved later).
LogicalNode parse_node(const ConfigNode& node, bool source_section, uint32_t default_parallelism) {
  node.expect_map();
  LogicalNode n;
  n.id = node.string("id");
  n.type = node.string("type");
  n.where = node.where();
  const RegisteredType* type = Registry::global().find(n.type);
  if (type == nullptr || type->is_source != source_section) {
    node.fail_at("type", "unknown " + std::string(source_section ? "source" : "operator") +
                             " type '" + n.type +
                             "' (known: " + join(Registry::global().types(source_section)) + ")");
  }
  n.parallelism = static_cast<uint32_t>(node.integer(
      "parallelism", source_section || type->single_subtask ? 1 : default_parallelism, 1, 1024));
  if (type->single_subtask && n.parallelism != 1)
    node.fail_at("parallelism", "'" + n.type + "' runs as one subtask: parallelism must be 1");
  if (!source_section) {
    std::vector<std::string> inputs = node.strings("input");
    for (const std::string& s : node.strings("inputs")) inputs.push_back(s);
    if (inputs.empty()) node.fail("missing required field 'input'");
    const bool has_partition = node.has("partition");
    const Partitioning p = has_partition ? parse_partitioning(node, "partition")
                           : type->keyed ? Partitioning::kHash
                                         : Partitioning::kForward;
    for (const std::string& from : inputs) n.inputs.push_back(LogicalEdge{from, p, has_partition});
  }
  if (source_section)
    n.make_source = type->parse_source(node);
  else if (type->parse_combinable)
    n.make_operator = type->parse_combinable(node, n.make_combiner);
  else
    n.make_operator = type->parse_operator(node);
  node.finish();
  return n;
}

// `state_backend: heap` or
// `state_backend: {type: heap | rocksdb, dir, cache_entries, incremental}`.
void parse_state_backend(const ConfigNode& top, StateBackendSettings& out) {
  if (!top.has("state_backend")) return;
  if (top.yaml()["state_backend"].IsScalar()) {
    const std::string type = top.string("state_backend");
    if (type == "heap") return;
    if (type == "rocksdb")
      top.fail_at("state_backend", "rocksdb needs a directory: {type: rocksdb, dir: PATH}");
    top.fail_at("state_backend", "unknown state backend '" + type + "' (heap or rocksdb)");
  }
  const ConfigNode node = top.child("state_backend");
  node.expect_map();
  const std::string type = node.string("type");
  if (type == "rocksdb") {
    if (!SEGFLOW_HAVE_ROCKSDB)
      node.fail_at("type", "this segflow was built without RocksDB (librocksdb-dev)");
    out.rocksdb = true;
    out.dir = node.string("dir");
    if (out.dir.empty()) node.fail_at("dir", "must not be empty");
    out.cache_entries =
        static_cast<size_t>(node.integer("cache_entries", 100'000, 16, int64_t{1} << 32));
    out.incremental = node.boolean("incremental", true);
  } else if (type != "heap") {
    node.fail_at("type", "unknown state backend '" + type + "' (heap or rocksdb)");
  }
  node.finish();
}

}  // namespace

JobSpec parse_job_spec(const std::string& yaml_text, const std::string& file_name,
                       const std::vector<std::string>& overrides) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw SpecError(file_name + ":" + std::to_string(e.mark.line + 1) + ":" +
                    std::to_string(e.mark.column + 1) + ": invalid YAML: " + e.msg);
  }
  for (const std::string& o : overrides) apply_override(root, o);

  const ConfigNode top(root, std::make_shared<const std::string>(file_name), "");
  top.expect_map();
  JobSpec spec;
  JobSettings& s = spec.settings;
  s.name = top.string("name", "job");
  const auto cores = std::max(1u, std::thread::hardware_concurrency());
  s.parallelism = static_cast<uint32_t>(top.integer("parallelism", cores, 1, 1024));
  s.max_parallelism = static_cast<uint32_t>(top.integer("max_parallelism", 128, 1, 32768));
  if (s.max_parallelism < s.parallelism)
    top.fail_at("max_parallelism", "must be at least the parallelism");
  s.batch_size = static_cast<size_t>(top.integer("batch_size", 512, 1, 65536));
  s.channel_capacity = static_cast<size_t>(top.integer("channel_capacity", 64, 2, 1 << 20));
  s.chaining = top.boolean("chaining", true);
  if (auto wm = top.optional_child("watermarks")) {
    wm->expect_map();
    s.out_of_orderness_ms = wm->duration_ms("out_of_orderness", 0);
    s.idle_timeout_ms = wm->duration_ms("idle_timeout", s.idle_timeout_ms);
    s.watermark_interval_ms = wm->duration_ms("interval", s.watermark_interval_ms);
    wm->finish();
  }
  if (auto m = top.optional_child("metrics")) {
    m->expect_map();
    s.metrics_address = m->string("address", "127.0.0.1:9464");
    m->finish();
  }
  if (auto d = top.optional_child("dead_letter")) {
    d->expect_map();
    s.dead_letter_path = d->string("path");
    d->finish();
  }

  if (auto c = top.optional_child("checkpoints")) {
    c->expect_map();
    s.checkpoints.interval_ms = c->duration_ms("interval");
    if (s.checkpoints.interval_ms <= 0) c->fail_at("interval", "must be positive");
    s.checkpoints.dir = c->string("dir");
    if (s.checkpoints.dir.empty()) c->fail_at("dir", "must not be empty");
    s.checkpoints.retain = static_cast<uint32_t>(c->integer("retain", 3, 1, 1000));
    c->finish();
  }
  parse_state_backend(top, s.state_backend);
  const auto sources = top.list("sources");
  if (sources.empty()) top.fail("a job needs at least one entry under 'sources'");
  for (const ConfigNode& n : sources) spec.graph.add(parse_node(n, true, s.parallelism));
  for (const ConfigNode& n : top.list("operators"))
    spec.graph.add(parse_node(n, false, s.parallelism));
  const auto sinks = top.list("sinks");
  if (sinks.empty()) top.fail("a job needs at least one entry under 'sinks'");
  // Sinks default to one subtask: one output file, one ordered stream.
  for (const ConfigNode& n : sinks) spec.graph.add(parse_node(n, false, 1));
  top.finish();

  spec.graph.resolve_default_edges();
  spec.graph.insert_combiners();
  spec.graph.validate();
  return spec;
}

JobSpec load_job_spec(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw SpecError(path + ": cannot open job spec");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return parse_job_spec(buffer.str(), path, overrides);
}

}  // namespace segflow

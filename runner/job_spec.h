// Loading a YAML job spec into JobSettings and a validated LogicalGraph. Every mistake is
// reported at load, as a SpecError "file:line:column: what is wrong", before anything runs.
#pragma once

#include <string>
#include <vector>

#include "engine/job_graph.h"

namespace segflow {

struct JobSpec {
  JobSettings settings;
  LogicalGraph graph;
};

// `overrides` are "dotted.path=value" strings (the CLI's --set): a path segment names a
// mapping key, a list index, or the `id` of a list element, e.g. "sources.events.seed=7".
JobSpec load_job_spec(const std::string& path, const std::vector<std::string>& overrides = {});
JobSpec parse_job_spec(const std::string& yaml_text, const std::string& file_name,
                       const std::vector<std::string>& overrides = {});

}  // namespace segflow

#include "operators/identity/identity_resolver.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "engine/json_text.h"
#include "engine/profile_merge.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("identity", IdentityResolver);

namespace {
// 2: refusals counted by reason.
constexpr uint64_t kStateFormatVersion = 2;

const char* refusal_name(IdentityGraph::Refusal r) {
  return r == IdentityGraph::Refusal::kTypeLimit ? "type limit" : "merge cap";
}
}  // namespace

IdentityResolver::IdentityResolver(const Config& config)
    : config_(config),
      graph_(config.limits(), config.max_merges),
      profile_merged_(intern("profile_merged")),
      merged_profile_(intern("merged_profile")),
      identifier_type_(intern("identifier_type")),
      identifier_(intern("identifier")),
      merge_id_(intern("merge_id")),
      message_id_(intern("messageId")) {}

IdentityResolver::~IdentityResolver() {
  if (merge_log_ != nullptr) std::fclose(merge_log_);
}

void IdentityResolver::open(OperatorContext& ctx) {
  Operator::open(ctx);
  if (ctx.parallelism != 1)
    throw std::runtime_error("identity: runs as one subtask (parallelism 1), not " +
                             std::to_string(ctx.parallelism));
  origin_ = ctx.operator_id + "#" + std::to_string(ctx.subtask);
  const OperatorMetrics metrics = ctx.metrics();
  merges_metric_ = &metrics.counter("segflow_profile_merges_total",
                                    "Profiles merged into another by an identity link");
  const char* refused_help = "Identity links refused by a rule (reason: type limit, merge cap)";
  refused_type_limit_metric_ =
      &metrics.counter("segflow_profile_merges_refused_total", refused_help,
                       {{"reason", refusal_name(IdentityGraph::Refusal::kTypeLimit)}});
  refused_merge_cap_metric_ =
      &metrics.counter("segflow_profile_merges_refused_total", refused_help,
                       {{"reason", refusal_name(IdentityGraph::Refusal::kMergeCap)}});
  identifiers_metric_ =
      &metrics.gauge("segflow_identity_identifiers", "Identifiers the identity graph holds");
  profiles_metric_ = &metrics.gauge("segflow_identity_profiles",
                                    "Profiles the identity graph holds (merged-away ones not "
                                    "counted)");
  if (!config_.merge_log_path.empty()) {
    const std::filesystem::path path(config_.merge_log_path);
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
    merge_log_ = std::fopen(config_.merge_log_path.c_str(), "w");
    if (merge_log_ == nullptr)
      throw std::runtime_error("identity: cannot open merge log " + config_.merge_log_path + ": " +
                               std::strerror(errno));
  }
}

void IdentityResolver::append_profile_key(std::string& out, IdentityGraph::ProfileId p) const {
  out.assign(config_.profile_prefix);
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, p);
  out.append(buf, end);
}

std::string IdentityResolver::profile_key(IdentityGraph::ProfileId p) const {
  std::string out;
  append_profile_key(out, p);
  return out;
}

void IdentityResolver::process(const Batch& in, Output& out) {
  std::vector<std::string> merge_ids;
  for (const Record& r : in.records()) {
    ids_.clear();
    id_storage_.clear();
    config_.extract(in, r, ids_, id_storage_);
    if (ids_.empty()) {
      ++no_identifier_;
      if (ctx().dead_letters != nullptr) {
        std::string payload = "{\"profile\":";
        append_json_string(payload, r.key);
        payload += ",\"event\":";
        append_json_string(payload, r.event == kNoSymbol ? "" : symbol_name(r.event));
        payload += ",\"event_time\":" + std::to_string(r.event_time) + "}";
        ctx().dead_letters->send(origin_, kNoIdentifierReason, payload);
      }
      continue;
    }
    graph_.resolve(ids_, r.event_time, resolution_);
    merge_ids.clear();
    merges_metric_->inc(resolution_.merges.size());
    for (const IdentityGraph::Refused& f : resolution_.refused)
      (f.reason == IdentityGraph::Refusal::kTypeLimit ? refused_type_limit_metric_
                                                      : refused_merge_cap_metric_)
          ->inc();
    for (const IdentityGraph::Merge& m : resolution_.merges) {
      ++merges_;
      std::string id = ctx().operator_id + ":" + std::to_string(++merge_seq_);
      append_profile_key(survivor_key_, m.survivor);
      append_profile_key(merged_key_, m.merged);
      emit_merge_records(out, merged_key_, survivor_key_, r.event_time, id);
      if (config_.emit_profile_merged) {
        const IdentifierRef& linked = ids_[m.identifier];
        out.add(EventKind::kDerived, survivor_key_, r.event_time, profile_merged_)
            .set(merged_profile_, Value::string(merged_key_))
            .set(identifier_type_, Value::string(config_.types[linked.type].name))
            .set(identifier_, Value::string(linked.value))
            .set(merge_id_, Value::string(id));
      }
      merge_ids.push_back(std::move(id));
    }
    for (const IdentityGraph::Refused& f : resolution_.refused)
      ++refused_[static_cast<size_t>(f.reason)];
    if (merge_log_ != nullptr && (!resolution_.merges.empty() || !resolution_.refused.empty()))
      log_resolution(in, r, merge_ids);
    append_profile_key(key_, resolution_.profile);
    out.forward_as(in, r, key_);
  }
  publish_sizes();
}

void IdentityResolver::publish_sizes() {
  identifiers_metric_->set(static_cast<double>(graph_.identifier_count()));
  profiles_metric_->set(static_cast<double>(graph_.profile_count() - merges_));
}

void IdentityResolver::log_resolution(const Batch& in, const Record& r,
                                      const std::vector<std::string>& merge_ids) {
  std::string common = ",\"event\":";
  append_json_string(common, r.event == kNoSymbol ? "" : symbol_name(r.event));
  common += ",\"event_time\":" + std::to_string(r.event_time);
  if (const Value* id = in.find(r, message_id_); id != nullptr && id->is_string()) {
    common += ",\"messageId\":";
    append_json_string(common, id->as_string());
  }
  auto identifier = [&](size_t index) {
    const IdentifierRef& id = ids_[index];
    std::string s = ",\"identifier_type\":";
    append_json_string(s, config_.types[id.type].name);
    s += ",\"identifier\":";
    append_json_string(s, id.value);
    return s;
  };
  for (size_t i = 0; i < resolution_.merges.size(); ++i) {
    const IdentityGraph::Merge& m = resolution_.merges[i];
    std::string line = "{\"type\":\"merge\",\"merge_id\":";
    append_json_string(line, merge_ids[i]);
    line += common + identifier(m.identifier) + ",\"survivor\":";
    append_json_string(line, profile_key(m.survivor));
    line += ",\"merged\":";
    append_json_string(line, profile_key(m.merged));
    log_line(line + "}");
  }
  for (const IdentityGraph::Refused& f : resolution_.refused) {
    std::string line = "{\"type\":\"refused\",\"reason\":";
    std::string reason = refusal_name(f.reason);
    if (f.reason == IdentityGraph::Refusal::kTypeLimit) reason += ": " + config_.types[f.type].name;
    append_json_string(line, reason);
    line += common + identifier(f.identifier) + ",\"profile\":";
    append_json_string(line, profile_key(f.profile));
    if (f.other != f.profile) {
      line += ",\"identifier_profile\":";
      append_json_string(line, profile_key(f.other));
    }
    log_line(line + "}");
  }
}

void IdentityResolver::log_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), merge_log_);
  std::fputc('\n', merge_log_);
}

void IdentityResolver::on_watermark(int64_t /*watermark*/, Output& /*out*/) {
  if (merge_log_ != nullptr) std::fflush(merge_log_);
}

void IdentityResolver::close(Output& /*out*/) {
  if (merge_log_ != nullptr) std::fflush(merge_log_);
}

void IdentityResolver::snapshot(StateWriter& w) const {
  w.u64(kStateFormatVersion);
  write_state(w, merge_seq_);
  write_state(w, merges_);
  write_state(w, refused_[0]);
  write_state(w, refused_[1]);
  write_state(w, no_identifier_);
  graph_.snapshot(w);
}

void IdentityResolver::restore(StateReader& r) {
  const uint64_t version = r.u64();
  if (version != kStateFormatVersion)
    throw StateFormatError("identity: unknown state format version " + std::to_string(version));
  merge_seq_ = read_state<uint64_t>(r);
  merges_ = read_state<uint64_t>(r);
  refused_[0] = read_state<uint64_t>(r);
  refused_[1] = read_state<uint64_t>(r);
  no_identifier_ = read_state<uint64_t>(r);
  graph_.restore(r);
  publish_sizes();
}

}  // namespace segflow

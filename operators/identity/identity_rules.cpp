#include "operators/identity/identity_rules.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace segflow {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

IdentityRules::Normalize parse_normalize(const ConfigNode& node) {
  const std::string n = node.string("normalize", "none");
  if (n == "none") return IdentityRules::Normalize::kNone;
  if (n == "email") return IdentityRules::Normalize::kEmail;
  node.fail_at("normalize", "unknown normalize '" + n + "' (none, email)");
}

// `within: <duration>` or `within: ever` (the default): the time scope of a type's limit.
int64_t parse_within(const ConfigNode& node) {
  if (!node.has("within") || node.string("within") == "ever") return 0;
  const int64_t ms = node.duration_ms("within");
  if (ms <= 0) node.fail_at("within", "'within' must be a positive duration (or 'ever')");
  return ms;
}

std::vector<IdentityRules::IdentifierType> default_types() {
  using N = IdentityRules::Normalize;
  return {{"user_id", intern("userId"), N::kNone, 1, 0},
          {"email", intern("traits.email"), N::kEmail, 5, 0},
          {"anonymous_id", intern("anonymousId"), N::kNone, 5, 0},
          {"device_id", intern("context.device.id"), N::kNone, 5, 0}};
}

}  // namespace

std::string normalize_email(std::string_view value) { return lower(trim(value)); }

IdentityRules IdentityRules::parse(const ConfigNode& node) {
  node.expect_map();
  IdentityRules rules;
  if (node.has("identifiers")) {
    for (const ConfigNode& t : node.list("identifiers")) {
      t.expect_map();
      IdentifierType type;
      type.name = t.string("type");
      if (type.name.empty()) t.fail_at("type", "'type' must not be empty");
      for (const IdentifierType& seen : rules.types)
        if (seen.name == type.name) t.fail_at("type", "identifier type '" + type.name + "' twice");
      type.property = intern(t.string("property"));
      type.normalize = parse_normalize(t);
      type.limit = static_cast<uint8_t>(t.integer("limit", 5, 1, 255));
      type.within_ms = parse_within(t);
      t.finish();
      rules.types.push_back(std::move(type));
    }
    if (rules.types.empty()) node.fail_at("identifiers", "'identifiers' must name at least one");
    if (rules.types.size() > kMaxTypes)
      node.fail_at("identifiers", "at most " + std::to_string(kMaxTypes) + " identifier types");
  } else {
    rules.types = default_types();
  }
  auto type_index = [&](const ConfigNode& at, const std::string& key, const std::string& name) {
    for (size_t i = 0; i < rules.types.size(); ++i)
      if (rules.types[i].name == name) return static_cast<uint32_t>(i);
    at.fail_at(key, "'" + name + "' is not one of the identifier types");
  };
  if (auto alias = node.optional_child("alias")) {
    alias->expect_map();
    rules.alias_property = intern(alias->string("property", "previousId"));
    rules.alias_type = type_index(*alias, "type", alias->string("type"));
    alias->finish();
  } else if (!node.has("identifiers")) {
    rules.alias_property = intern("previousId");
    rules.alias_type = 2;  // anonymous_id
  }
  rules.max_merges = static_cast<uint32_t>(node.integer("max_merges", 100, 0, 65535));
  if (node.has("blocked_values")) {
    rules.blocked_values.clear();
    for (const std::string& v : node.strings("blocked_values"))
      rules.blocked_values.push_back(lower(v));
  } else {
    rules.blocked_values = {"", "null", "anonymous", "unknown", "-1", "undefined", "none"};
  }
  for (const std::string& v : rules.blocked_values)
    rules.longest_blocked_value = std::max(rules.longest_blocked_value, v.size());
  rules.block_zeros_and_dashes = node.boolean("block_zeros_and_dashes", true);
  if (node.has("blocked_patterns")) {
    for (const std::string& p : node.strings("blocked_patterns")) {
      try {
        rules.blocked_patterns.emplace_back(p, std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        node.fail_at("blocked_patterns", "invalid regular expression '" + p + "': " + e.what());
      }
      rules.blocked_pattern_texts.push_back(p);
    }
  }
  rules.profile_prefix = node.string("profile_prefix", "profile-");
  rules.merge_log_path = node.string("merge_log", "");
  rules.emit_profile_merged = node.boolean("emit_profile_merged", true);
  auto want = [&](SymbolId property, size_t slot) {
    if (property >= rules.slot_of_property.size()) rules.slot_of_property.resize(property + 1, 0);
    if (rules.slot_of_property[property] == 0)
      rules.slot_of_property[property] = static_cast<uint8_t>(slot + 1);
    rules.value_slot.push_back(static_cast<uint8_t>(rules.slot_of_property[property] - 1));
  };
  for (size_t t = 0; t < rules.types.size(); ++t) want(rules.types[t].property, t);
  if (rules.alias_property != kNoSymbol) want(rules.alias_property, rules.types.size());
  return rules;
}

std::vector<IdentifierLimit> IdentityRules::limits() const {
  std::vector<IdentifierLimit> out;
  for (const IdentifierType& t : types) out.push_back({t.limit, t.within_ms});
  return out;
}

bool IdentityRules::blocked(std::string_view value) const {
  if (block_zeros_and_dashes && !value.empty() &&
      std::all_of(value.begin(), value.end(), [](char c) { return c == '0' || c == '-'; }))
    return true;
  if (value.size() <= longest_blocked_value) {
    for (const std::string& b : blocked_values)
      if (b.size() == value.size() &&
          std::equal(b.begin(), b.end(), value.begin(),
                     [](char x, char y) { return x == ascii_lower(y); }))
        return true;
  }
  for (const std::regex& re : blocked_patterns)
    if (std::regex_match(value.begin(), value.end(), re)) return true;
  return false;
}

void IdentityRules::extract(const Batch& batch, const Record& r, std::vector<IdentifierRef>& ids,
                            std::deque<std::string>& storage) const {
  auto add = [&](uint32_t type, const Value* v) {
    if (v == nullptr) return;
    std::string_view text;
    if (v->is_string()) {
      text = v->as_string();
    } else if (v->type() == ValueType::kInt) {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v->as_int());
      storage.emplace_back(buf, end);
      text = storage.back();
    } else {
      return;  // null, bool, double: not an identifier
    }
    if (types[type].normalize == Normalize::kEmail) {
      const std::string_view trimmed = trim(text);
      if (std::any_of(trimmed.begin(), trimmed.end(),
                      [](char c) { return c >= 'A' && c <= 'Z'; })) {
        storage.push_back(lower(trimmed));
        text = storage.back();
      } else {
        text = trimmed;
      }
    }
    if (blocked(text)) return;
    ids.push_back({type, text});
  };
  // One pass over the record's properties (the first occurrence of a name counts, as in
  // Batch::find), then the identifiers in priority order.
  std::array<const Value*, kMaxTypes + 1> found{};
  for (const Property& p : batch.properties(r)) {
    if (p.name >= slot_of_property.size() || slot_of_property[p.name] == 0) continue;
    const Value*& slot = found[slot_of_property[p.name] - 1];
    if (slot == nullptr) slot = &p.value;
  }
  const bool alias = r.kind == EventKind::kAlias && alias_property != kNoSymbol;
  for (uint32_t t = 0; t < types.size(); ++t) {
    add(t, found[value_slot[t]]);
    if (alias && alias_type == t) add(t, found[value_slot[types.size()]]);
  }
}

}  // namespace segflow

#include "engine/registry.h"

namespace segflow {

Registry& Registry::global() {
  static Registry registry;
  return registry;
}

const RegisteredType* Registry::find(const std::string& type) const {
  auto it = types_.find(type);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::types(bool sources) const {
  std::vector<std::string> out;
  for (const auto& [name, t] : types_)
    if (t.is_source == sources) out.push_back(name);
  return out;
}

}  // namespace segflow

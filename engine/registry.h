// Registry: maps the `type:` of a job-spec entry to the code that parses its settings and
// makes its per-subtask instances. A new operator is one class plus one line:
//
//   SEGFLOW_REGISTER_OPERATOR("my_type", MyOperator);
//
// where MyOperator derives from Operator (or Source), has a nested `Config` with
// `static Config parse(const ConfigNode&)`, and a constructor taking `const Config&`.
// An operator whose input must be partitioned by profile key declares
// `static constexpr bool kKeyed = true;`; one that must run as a single subtask (e.g. a
// global identity graph) declares `static constexpr bool kSingleSubtask = true;`.
// Thread safety: registration happens during static initialisation; lookups after it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/config_node.h"
#include "engine/operator.h"

namespace segflow {

using OperatorFactory = std::function<std::unique_ptr<Operator>()>;
using SourceFactory = std::function<std::unique_ptr<Source>()>;

struct RegisteredType {
  bool is_source = false;
  bool keyed = false;
  bool single_subtask = false;  // parallelism is 1 whatever the job's default
  std::function<OperatorFactory(const ConfigNode&)> parse_operator;
  // Set for operators that declare `using Combiner = X;` (X: an Operator built from the same
  // Config, whose `bool combine` enables it): parses once, returns the operator's factory and
  // sets `combiner` to X's when enabled (see LogicalGraph::insert_combiners).
  std::function<OperatorFactory(const ConfigNode&, OperatorFactory& combiner)> parse_combinable;
  std::function<SourceFactory(const ConfigNode&)> parse_source;
};

class Registry {
 public:
  static Registry& global();

  template <class C>
  bool add(const std::string& type) {
    RegisteredType t;
    if constexpr (std::is_base_of_v<Source, C>) {
      t.is_source = true;
      t.parse_source = [](const ConfigNode& node) -> SourceFactory {
        auto config = std::make_shared<const typename C::Config>(C::Config::parse(node));
        return [config] { return std::make_unique<C>(*config); };
      };
    } else {
      static_assert(std::is_base_of_v<Operator, C>, "register an Operator or a Source");
      if constexpr (requires { C::kKeyed; }) t.keyed = C::kKeyed;
      if constexpr (requires { C::kSingleSubtask; }) t.single_subtask = C::kSingleSubtask;
      t.parse_operator = [](const ConfigNode& node) -> OperatorFactory {
        auto config = std::make_shared<const typename C::Config>(C::Config::parse(node));
        return [config] { return std::make_unique<C>(*config); };
      };
      if constexpr (requires { typename C::Combiner; }) {
        t.parse_combinable = [](const ConfigNode& node, OperatorFactory& combiner) {
          auto config = std::make_shared<const typename C::Config>(C::Config::parse(node));
          if (config->combine)
            combiner = [config] { return std::make_unique<typename C::Combiner>(*config); };
          return OperatorFactory([config] { return std::make_unique<C>(*config); });
        };
      }
    }
    types_[type] = std::move(t);
    return true;
  }

  const RegisteredType* find(const std::string& type) const;
  std::vector<std::string> types(bool sources) const;

 private:
  std::map<std::string, RegisteredType> types_;
};

#define SEGFLOW_CONCAT_INNER(a, b) a##b
#define SEGFLOW_CONCAT(a, b) SEGFLOW_CONCAT_INNER(a, b)
#define SEGFLOW_REGISTER_OPERATOR(type_name, Class)                                  \
  [[maybe_unused]] static const bool SEGFLOW_CONCAT(segflow_registered_, __LINE__) = \
      ::segflow::Registry::global().add<Class>(type_name)

}  // namespace segflow

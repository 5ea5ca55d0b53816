#include "operators/nexmark/record_fields.h"

#include <string>

#include "engine/json_text.h"

namespace segflow {

bool int_property(const Batch& in, const Record& r, SymbolId name, int64_t& v) {
  const Value* value = in.find(r, name);
  if (value == nullptr || value->type() != ValueType::kInt) return false;
  v = value->as_int();
  return true;
}

void send_malformed(DeadLetterOutput* dead_letters, std::string_view origin, const Record& r,
                    std::string_view reason) {
  if (dead_letters == nullptr) return;
  std::string payload = "{\"profile\":";
  append_json_string(payload, r.key);
  payload += ",\"event\":";
  append_json_string(payload, r.event == kNoSymbol ? std::string_view() : symbol_name(r.event));
  payload += '}';
  dead_letters->send(origin, reason, payload);
}

}  // namespace segflow

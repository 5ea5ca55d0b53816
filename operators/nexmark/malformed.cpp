#include "operators/nexmark/malformed.h"

#include <string>

#include "engine/json_text.h"

namespace segflow {

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

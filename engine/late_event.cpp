#include "engine/late_event.h"

#include <string>

#include "engine/json_text.h"

namespace segflow {

void send_late_event(DeadLetterOutput* dead_letters, std::string_view origin, const Record& r,
                     int64_t watermark) {
  if (dead_letters == nullptr) return;
  std::string payload = "{\"profile\":";
  append_json_string(payload, r.key);
  payload += ",\"event\":";
  append_json_string(payload, r.event == kNoSymbol ? std::string_view() : symbol_name(r.event));
  payload += ",\"event_time\":";
  payload += std::to_string(r.event_time);
  payload += ",\"watermark\":";
  payload += std::to_string(watermark);
  payload += '}';
  dead_letters->send(origin, kLateEventReason, payload);
}

}  // namespace segflow

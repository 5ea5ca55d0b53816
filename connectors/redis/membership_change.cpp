#include "connectors/redis/membership_change.h"

namespace segflow {

const char* read_membership_change(const Batch& batch, const Record& r, const ChangeNames& names,
                                   MembershipChange& change) {
  if (r.event != names.entered && r.event != names.exited) return "not a segment change";
  const Value* segment = batch.find(r, names.segment_property);
  if (segment == nullptr || !segment->is_string() || segment->as_string().empty())
    return "missing segment";
  change.profile.assign(r.key);
  change.segment.assign(segment->as_string());
  change.time = r.event_time;
  change.entered = r.event == names.entered;
  return nullptr;
}

}  // namespace segflow

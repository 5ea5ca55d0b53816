#include "connectors/generator/generator_source.h"

#include <algorithm>
#include <string>
#include <type_traits>

#include "connectors/json/iso8601.h"
#include "engine/ingest_time.h"
#include "engine/registry.h"

namespace segflow {

SEGFLOW_REGISTER_OPERATOR("generator", GeneratorSource);

using generator::Action;
using generator::ModelEvent;
using generator::SyntheticIds;
using generator::UserProfile;
using generator::UserState;

namespace {

constexpr int64_t kMaxOutOfOrderMs = 7LL * 24 * 3600 * 1000;
constexpr double kMaxRate = 1e9;
constexpr uint64_t kSnapshotVersion = 1;

static_assert(std::is_trivially_copyable_v<UserState>);

// Record.event of each Action, in the order of the enum.
constexpr std::string_view kEventNames[generator::kActionCount] = {
    "page",          "Product List Viewed", "Product Viewed",
    "Product Added", "Checkout Started",    "Order Completed",
    "identify"};

EventKind kind_of(Action action) {
  switch (action) {
    case Action::kPage:
      return EventKind::kPage;
    case Action::kIdentify:
      return EventKind::kIdentify;
    default:
      return EventKind::kTrack;
  }
}

Value str(std::string_view s) { return Value::string(s); }
// A whole amount is an integer, as a JSON decoder reads `"revenue": 99`.
Value money(int64_t cents) {
  if (cents % 100 == 0) return Value::integer(cents / 100);
  return Value::real(static_cast<double>(cents) / 100.0);
}

}  // namespace

GeneratorSource::Config GeneratorSource::Config::parse(const ConfigNode& node) {
  Config c;
  c.seed = static_cast<uint64_t>(node.integer("seed", 1, 0));
  c.users = static_cast<uint32_t>(node.integer("users", 1000, 1, 100'000'000));
  c.events = static_cast<uint64_t>(node.integer("events", 0, 0));
  c.rate = node.number("rate", 0);
  if (!(c.rate >= 0 && c.rate <= kMaxRate))
    node.fail_at("rate", "must be between 0 (unpaced) and 1e9 records per second");
  const std::string start = node.string("start", "2024-01-01T00:00:00Z");
  if (!parse_iso8601(start, c.start_ms))
    node.fail_at("start",
                 "expected an ISO-8601 time such as 2024-01-01T00:00:00Z, found '" + start + "'");
  c.out_of_order_ms = node.duration_ms("out_of_order", 0);
  if (c.out_of_order_ms > kMaxOutOfOrderMs) node.fail_at("out_of_order", "must be at most 7d");
  return c;
}

GeneratorSource::GeneratorSource(const Config& config) : config_(config), ids_(config.seed) {}

void GeneratorSource::open(OperatorContext& ctx) {
  Source::open(ctx);
  subtask_ = ctx.subtask;
  parallelism_ = std::max<uint32_t>(1, ctx.parallelism);
  model_.emplace(config_.seed, config_.start_ms, config_.out_of_order_ms);

  for (uint32_t a = 0; a < generator::kActionCount; ++a)
    symbols_.events[a] = intern(kEventNames[a]);
  symbols_.user_id = intern("userId");
  symbols_.anonymous_id = intern("anonymousId");
  symbols_.message_id = intern("messageId");
  symbols_.product_id = intern("properties.product_id");
  symbols_.category = intern("properties.category");
  symbols_.price = intern("properties.price");
  symbols_.quantity = intern("properties.quantity");
  symbols_.order_id = intern("properties.order_id");
  symbols_.revenue = intern("properties.revenue");
  symbols_.currency = intern("properties.currency");
  symbols_.page_name = intern("properties.name");
  symbols_.email = intern("traits.email");
  symbols_.plan = intern("traits.plan");
  symbols_.device_id = intern("context.device.id");
  symbols_.device_type = intern("context.device.type");
  symbols_.country = intern("context.location.country");
  symbols_.timezone = intern("context.timezone");
  symbols_.locale = intern("context.locale");

  const uint64_t users = config_.users;
  const uint64_t local_users =
      subtask_ < users ? (users - subtask_ + parallelism_ - 1) / parallelism_ : 0;
  profiles_.clear();
  states_.clear();
  profiles_.reserve(local_users);
  states_.reserve(local_users);
  for (uint64_t l = 0; l < local_users; ++l) {
    profiles_.push_back(model_->profile(static_cast<uint32_t>(l * parallelism_ + subtask_)));
    states_.push_back(model_->initial_state(profiles_.back()));
  }

  const uint64_t active = std::min<uint64_t>(parallelism_, users);
  if (config_.events > 0)
    limit_ = subtask_ < active ? config_.events / active + (subtask_ < config_.events % active) : 0;
  rate_ = config_.rate / static_cast<double>(active);
  emitted_ = 0;
  pace_start_ms_ = -1;
  paced_ = 0;
  if (pending_restore_) {
    Restored restored = std::move(*pending_restore_);
    pending_restore_.reset();
    apply(std::move(restored));
  }
  rebuild_timeline();
}

void GeneratorSource::rebuild_timeline() {
  timeline_.clear();
  timeline_.reserve(states_.size());
  for (uint32_t l = 0; l < states_.size(); ++l) timeline_.push(states_[l].next_time, l);
}

SourceStatus GeneratorSource::poll(Output& out) {
  if (timeline_.empty() || emitted_ >= limit_) return SourceStatus::kEnd;
  uint64_t budget = std::min<uint64_t>(kRecordsPerPoll, limit_ - emitted_);
  if (rate_ > 0) {
    const int64_t now = ctx().clock->now_ms();
    if (pace_start_ms_ < 0) pace_start_ms_ = now;
    const double elapsed_s = static_cast<double>(std::max<int64_t>(0, now - pace_start_ms_)) / 1000;
    const uint64_t allowed = static_cast<uint64_t>(elapsed_s * rate_);
    if (paced_ >= allowed) return SourceStatus::kIdle;
    budget = std::min(budget, allowed - paced_);
    // A live producer would have sent the first of these records when it was due: latency
    // counts from then, so a late poll (the idle sleep, a stalled thread, a backlog under
    // overload) is measured, not hidden (to within the clock's millisecond).
    const double due_ms =
        static_cast<double>(pace_start_ms_) + static_cast<double>(paced_ + 1) / rate_ * 1000;
    const auto behind_ns =
        static_cast<int64_t>(std::max(0.0, static_cast<double>(now) - due_ms) * 1e6);
    out.set_ingest_cause(std::min(out.ingest_cause(), ingest_clock_ns() - behind_ns));
    paced_ += budget;
  }
  for (uint64_t n = 0; n < budget; ++n) {
    const uint32_t local = timeline_.next().user;
    UserState& state = states_[local];
    const ModelEvent event = model_->step(profiles_[local], state);
    timeline_.reschedule_next(state.next_time);
    emit(profiles_[local], event, out);
  }
  emitted_ += budget;
  return SourceStatus::kMore;
}

void GeneratorSource::emit(const UserProfile& profile, const ModelEvent& e, Output& out) const {
  SyntheticIds::Buffer user_buf, anonymous_buf, message_buf, scratch;
  const uint32_t user = profile.user;
  const std::string_view anonymous_id = ids_.anonymous_id(anonymous_buf, user, e.device);
  const std::string_view user_id = e.identified ? ids_.user_id(user_buf, user) : std::string_view();
  const Symbols& s = symbols_;

  RecordBuilder b = out.add(kind_of(e.action), e.identified ? user_id : anonymous_id, e.event_time,
                            s.events[static_cast<size_t>(e.action)]);
  if (e.identified) b.set(s.user_id, str(user_id));
  b.set(s.anonymous_id, str(anonymous_id));
  b.set(s.message_id, str(ids_.message_id(message_buf, user, e.sequence)));

  const generator::Catalog& catalog = model_->catalog();
  switch (e.action) {
    case Action::kPage:
      b.set(s.page_name, str(generator::kPageNames[e.page]));
      break;
    case Action::kProductListViewed:
      b.set(s.category, str(generator::kCategories[e.category].name));
      break;
    case Action::kProductViewed:
    case Action::kProductAdded: {
      const generator::Product& product = catalog.product(e.product);
      b.set(s.product_id, str(product.id));
      b.set(s.category, str(generator::kCategories[product.category].name));
      b.set(s.price, money(product.price_cents));
      if (e.action == Action::kProductAdded) b.set(s.quantity, Value::integer(e.quantity));
      break;
    }
    case Action::kCheckoutStarted:
    case Action::kOrderCompleted:
      b.set(s.order_id, str(ids_.order_id(scratch, user, e.order)));
      b.set(s.revenue, money(e.revenue_cents));
      b.set(s.currency, str("USD"));
      break;
    case Action::kIdentify:
      b.set(s.email, str(ids_.email(scratch, user)));
      b.set(s.plan, str(generator::kPlanNames[static_cast<size_t>(profile.plan)]));
      break;
  }

  const generator::Country& country = generator::kCountries[profile.country];
  b.set(s.device_id, str(ids_.device_id(scratch, user, e.device)));
  b.set(s.device_type,
        str(generator::kDeviceTypeNames[static_cast<size_t>(profile.device_types[e.device])]));
  b.set(s.country, str(country.code));
  b.set(s.timezone, str(country.timezone));
  b.set(s.locale, str(country.locale));
}

void GeneratorSource::snapshot(StateWriter& w) const {
  w.u64(kSnapshotVersion);
  w.u64(config_.seed);
  w.u64(config_.users);
  w.u64(subtask_);
  w.u64(parallelism_);
  w.u64(emitted_);
  w.u64(states_.size());
  w.bytes(states_.data(), states_.size() * sizeof(UserState));
}

void GeneratorSource::restore(StateReader& r) {
  if (r.u64() != kSnapshotVersion) throw StateFormatError("generator: unknown state version");
  const uint64_t seed = r.u64();
  const uint64_t users = r.u64();
  const uint64_t subtask = r.u64();
  const uint64_t parallelism = r.u64();
  if (seed != config_.seed || users != config_.users)
    throw StateFormatError("generator: state was taken with seed " + std::to_string(seed) +
                           " and " + std::to_string(users) + " users, the job now has seed " +
                           std::to_string(config_.seed) + " and " + std::to_string(config_.users));
  Restored restored;
  restored.subtask = subtask;
  restored.parallelism = parallelism;
  restored.emitted = r.u64();
  const uint64_t count = r.u64();
  if (count > config_.users) throw StateFormatError("generator: state truncated");
  restored.states.resize(count);
  r.bytes(restored.states.data(), count * sizeof(UserState));
  if (model_) {  // open() ran already
    apply(std::move(restored));
    rebuild_timeline();
  } else {
    pending_restore_ = std::move(restored);
  }
}

void GeneratorSource::apply(Restored restored) {
  if (restored.subtask != subtask_ || restored.parallelism != parallelism_)
    throw StateFormatError("generator: state of subtask " + std::to_string(restored.subtask) +
                           " of " + std::to_string(restored.parallelism) +
                           " restored into subtask " + std::to_string(subtask_) + " of " +
                           std::to_string(parallelism_));
  if (restored.states.size() != states_.size())
    throw StateFormatError("generator: state holds " + std::to_string(restored.states.size()) +
                           " users, subtask " + std::to_string(subtask_) + " has " +
                           std::to_string(states_.size()) + " (parallelism changed?)");
  states_ = std::move(restored.states);
  emitted_ = restored.emitted;
}

}  // namespace segflow

#include "connectors/generator/user_model.h"

#include <algorithm>

namespace segflow::generator {

namespace {

constexpr int64_t kSecond = 1000;
constexpr int64_t kMinute = 60 * kSecond;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;

constexpr uint64_t kProfileSalt = 0x70726f66696c65ULL;
constexpr uint64_t kStateSalt = 0x7374617465ULL;

constexpr uint16_t kMaxSessionEvents = 40;
// Mean seconds a person spends on each action before the next one (by Action).
constexpr std::array<double, kActionCount> kMeanDwellSeconds = {20, 25, 45, 20, 90, 15, 10};
// Gaps inside a session stay under the usual 30-minute session timeout.
constexpr int64_t kMaxDwell = 25 * kMinute;
constexpr int64_t kMinSessionGap = 30 * kMinute;
constexpr int64_t kStaleCart = 7 * kDay;

template <class T, size_t N, class F>
constexpr std::array<uint32_t, N> weights_of(const std::array<T, N>& items, F weight) {
  std::array<uint32_t, N> w{};
  for (size_t i = 0; i < N; ++i) w[i] = weight(items[i]);
  return w;
}
constexpr auto kCountryWeights = weights_of(kCountries, [](const Country& c) { return c.weight; });
constexpr auto kCategoryWeights =
    weights_of(kCategories, [](const Category& c) { return c.weight; });

uint32_t device_bit(uint8_t device) { return 1u << device; }

}  // namespace

UserModel::UserModel(uint64_t seed, int64_t start_ms, int64_t max_delay_ms)
    : seed_(seed), start_ms_(start_ms), max_delay_ms_(max_delay_ms), catalog_(seed) {}

UserProfile UserModel::profile(uint32_t user) const {
  SplitMix64 rng(mix64(seed_ ^ mix64(user ^ kProfileSalt)));
  UserProfile p;
  p.user = user;
  p.country = static_cast<uint8_t>(pick_weighted(rng, kCountryWeights));
  p.device_count =
      static_cast<uint8_t>(1 + pick_weighted(rng, std::array<uint32_t, 3>{50, 35, 15}));
  const bool mobile_first = rng.chance(0.6);
  p.device_types[0] = mobile_first ? DeviceType::kMobile : DeviceType::kDesktop;
  p.device_types[1] = rng.chance(0.7) ? (mobile_first ? DeviceType::kDesktop : DeviceType::kMobile)
                                      : DeviceType::kTablet;
  p.device_types[2] = rng.chance(0.5) ? DeviceType::kTablet : DeviceType::kMobile;
  p.favourite_category = static_cast<uint8_t>(pick_weighted(rng, kCategoryWeights));
  p.price_tier = static_cast<PriceTier>(pick_weighted(rng, std::array<uint32_t, 3>{30, 50, 20}));
  p.plan = static_cast<Plan>(pick_weighted(rng, p.price_tier == PriceTier::kPremium
                                                    ? std::array<uint32_t, 3>{40, 30, 30}
                                                    : std::array<uint32_t, 3>{75, 18, 7}));
  p.will_identify = rng.chance(0.6);
  p.lapses = rng.chance(0.2);
  p.add_to_cart = static_cast<float>(0.02 + 0.12 * rng.uniform());
  p.checkout = static_cast<float>(0.25 + 0.35 * rng.uniform());
  p.complete = static_cast<float>(0.45 + 0.40 * rng.uniform());
  p.mean_session_gap_s = static_cast<float>(rng.log_uniform(3.0 * 3600, 7.0 * 86400));
  return p;
}

UserState UserModel::initial_state(const UserProfile& p) const {
  UserState s;
  SplitMix64 rng(mix64(seed_ ^ mix64(p.user ^ kStateSalt)));
  s.sessions_until_lapse = static_cast<uint16_t>(rng.between(5, 30));
  const double first_within_s = std::min<double>(p.mean_session_gap_s, 2.0 * 86400);
  const int64_t first = start_ms_ + static_cast<int64_t>(rng.uniform() * first_within_s * 1000);
  s.last_stamp = start_ms_;
  begin_session(p, s, rng, first);
  s.rng = rng.state();
  return s;
}

void UserModel::begin_session(const UserProfile& p, UserState& s, SplitMix64& rng,
                              int64_t at) const {
  // Few people shop between 01:00 and 07:00 local time: most such sessions move to later
  // that day (07:00 to 23:00).
  const int64_t local_minutes = at / kMinute + kCountries[p.country].utc_offset_minutes;
  const int64_t minute_of_day = ((local_minutes % 1440) + 1440) % 1440;
  if (minute_of_day >= 60 && minute_of_day < 7 * 60 && rng.chance(0.85))
    at += (7 * 60 - minute_of_day) * kMinute + rng.between(0, 16 * kHour);
  s.next_time = at;
  s.device = p.device_count == 1 || rng.chance(0.55)
                 ? 0
                 : static_cast<uint8_t>(1 + rng.below(p.device_count - 1u));
  // A quarter of sessions are delivered late (an app flushing its offline queue).
  const bool delayed = rng.chance(0.25);
  const int64_t delay = rng.between(0, max_delay_ms_);
  s.session_delay_ms = delayed ? delay : 0;
  s.session_events = 0;
  s.action = Action::kPage;
  s.page = static_cast<uint8_t>(pick_weighted(rng, kLandingPageWeights));
}

void UserModel::end_session(const UserProfile& p, UserState& s, SplitMix64& rng) const {
  int64_t gap =
      kMinSessionGap + static_cast<int64_t>(rng.exponential(p.mean_session_gap_s) * kSecond);
  if (p.lapses && --s.sessions_until_lapse == 0) {
    gap += rng.between(30 * kDay, 120 * kDay);
    s.sessions_until_lapse = static_cast<uint16_t>(rng.between(5, 30));
  }
  if (gap > kStaleCart) s.cart_cents = 0;
  begin_session(p, s, rng, s.next_time + gap);
}

uint8_t UserModel::choose_category(const UserProfile& p, SplitMix64& rng) const {
  if (rng.chance(0.55)) return p.favourite_category;
  return static_cast<uint8_t>(pick_weighted(rng, kCategoryWeights));
}

uint16_t UserModel::choose_product(const UserProfile& p, SplitMix64& rng, uint32_t category) const {
  uint32_t begin = 0;
  uint32_t end = Catalog::kProductsPerCategory;
  if (rng.chance(0.6)) {
    begin = Catalog::tier_begin(p.price_tier);
    end = Catalog::tier_end(p.price_tier);
  }
  return static_cast<uint16_t>(catalog_.first_of(category) + begin + rng.below(end - begin));
}

bool UserModel::choose_next(const UserProfile& p, UserState& s, SplitMix64& rng,
                            Action done) const {
  if (done == Action::kIdentify) {
    s.action = s.after_identify;
    return true;
  }
  if (s.session_events >= kMaxSessionEvents) return false;

  const bool landed = done == Action::kPage && s.session_events == 1;
  const double r = rng.uniform();
  Action next;
  switch (done) {
    case Action::kPage:
      if (landed && s.cart_cents > 0 && rng.chance(0.1))
        next = Action::kCheckoutStarted;
      else if (r < 0.45)
        next = Action::kProductListViewed;
      else if (r < 0.70)
        next = Action::kProductViewed;
      else if (r < 0.85)
        next = Action::kPage;
      else
        return false;
      break;
    case Action::kProductListViewed:
      if (r < 0.70)
        next = Action::kProductViewed;
      else if (r < 0.78)
        next = Action::kProductListViewed;
      else if (r < 0.85)
        next = Action::kPage;
      else
        return false;
      break;
    case Action::kProductViewed:
      if (r < p.add_to_cart)
        next = Action::kProductAdded;
      else if (r < 0.50)
        next = Action::kProductViewed;
      else if (r < 0.65)
        next = Action::kProductListViewed;
      else if (r < 0.72)
        next = Action::kPage;
      else
        return false;
      break;
    case Action::kProductAdded:
      if (r < p.checkout)
        next = Action::kCheckoutStarted;
      else if (rng.chance(0.5))
        next = Action::kProductViewed;
      else
        return false;  // an abandoned cart
      break;
    case Action::kCheckoutStarted:
      if (r < p.complete)
        next = Action::kOrderCompleted;
      else
        return false;  // an abandoned checkout
      break;
    case Action::kOrderCompleted:
      if (r < 0.10)
        next = Action::kProductViewed;
      else if (r < 0.25)
        next = Action::kPage;
      else
        return false;
      break;
    default:
      return false;
  }

  switch (next) {
    case Action::kPage:
      s.page = static_cast<uint8_t>(pick_weighted(rng, kBrowsingPageWeights));
      break;
    case Action::kProductListViewed:
      s.category = choose_category(p, rng);
      break;
    case Action::kProductViewed:
      if (done != Action::kProductListViewed &&
          !(done == Action::kProductViewed && rng.chance(0.8)))
        s.category = choose_category(p, rng);
      s.product = choose_product(p, rng, s.category);
      break;
    case Action::kProductAdded:
      s.quantity = static_cast<uint8_t>(1 + pick_weighted(rng, std::array<uint32_t, 3>{80, 15, 5}));
      break;
    default:
      break;
  }

  // Logging in: on landing (a returning customer, now and then a sign-up, or a logged-in
  // app refreshing its traits), and before checkout.
  const bool logged_in = s.identified_devices & device_bit(s.device);
  double login = 0;
  if (landed)
    login = logged_in ? 0.1 : s.has_account ? 0.4 : p.will_identify ? 0.15 : 0;
  else if (next == Action::kCheckoutStarted && !logged_in && p.will_identify)
    login = 0.7;
  if (login > 0 && rng.chance(login)) {
    s.after_identify = next;
    next = Action::kIdentify;
  }
  s.action = next;
  return true;
}

ModelEvent UserModel::step(const UserProfile& p, UserState& s) const {
  SplitMix64 rng(s.rng);
  ModelEvent e;
  e.action = s.action;
  e.sequence = s.sequence++;
  e.device = s.device;
  // Stamped up to the session's delay earlier than simulated, never before the person's
  // previous event: late, but in order per person.
  e.event_time = std::max(s.next_time - s.session_delay_ms, s.last_stamp);
  s.last_stamp = e.event_time;
  ++s.session_events;

  switch (s.action) {
    case Action::kPage:
      e.page = s.page;
      break;
    case Action::kProductListViewed:
      e.category = s.category;
      break;
    case Action::kProductAdded:
      e.quantity = s.quantity;
      s.cart_cents += catalog_.product(s.product).price_cents * s.quantity;
      [[fallthrough]];
    case Action::kProductViewed:
      e.product = s.product;
      e.category = catalog_.product(s.product).category;
      break;
    case Action::kCheckoutStarted:
      e.order = s.orders;
      e.revenue_cents = s.cart_cents;
      break;
    case Action::kOrderCompleted:
      e.order = s.orders++;
      e.revenue_cents = s.cart_cents;
      s.cart_cents = 0;
      break;
    case Action::kIdentify:
      s.identified_devices |= device_bit(s.device);
      s.has_account = true;
      break;
  }
  e.identified = s.identified_devices & device_bit(s.device);

  const int64_t dwell = std::min<int64_t>(
      kMaxDwell, kSecond + static_cast<int64_t>(rng.exponential(
                               kMeanDwellSeconds[static_cast<size_t>(e.action)] * kSecond)));
  if (choose_next(p, s, rng, e.action))
    s.next_time += dwell;
  else
    end_session(p, s, rng);
  s.rng = rng.state();
  return e;
}

}  // namespace segflow::generator

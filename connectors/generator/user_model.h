// UserModel: how the generator's shoppers behave: fixed traits per person, and a state
// machine through sessions, funnels, carts, logins on each device, day/night and lapses.
// A person's events are a pure function of (seed, start, out_of_order, person), whoever
// else is simulated. Thread safety: the model is immutable; each UserState has one owner.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "connectors/generator/catalog.h"
#include "connectors/generator/random.h"

namespace segflow::generator {

enum class Action : uint8_t {
  kPage,
  kProductListViewed,
  kProductViewed,
  kProductAdded,
  kCheckoutStarted,
  kOrderCompleted,
  kIdentify,
};
inline constexpr uint32_t kActionCount = 7;

enum class Plan : uint8_t { kFree, kPlus, kPremium };
inline constexpr std::array<std::string_view, 3> kPlanNames = {"free", "plus", "premium"};

inline constexpr uint32_t kMaxDevices = 3;

// What never changes about a person.
struct UserProfile {
  uint32_t user = 0;    // global index, 0 <= user < users
  uint8_t country = 0;  // index into kCountries
  uint8_t device_count = 1;
  DeviceType device_types[kMaxDevices] = {};
  uint8_t favourite_category = 0;
  PriceTier price_tier = PriceTier::kMid;
  Plan plan = Plan::kFree;
  bool will_identify = false;  // creates an account at some point
  bool lapses = false;         // goes quiet for weeks now and then
  float add_to_cart = 0;       // P(Product Added | Product Viewed)
  float checkout = 0;          // P(Checkout Started | Product Added)
  float complete = 0;          // P(Order Completed | Checkout Started)
  float mean_session_gap_s = 0;
};

// Where a person is in their life. Trivially copyable (snapshots copy its bytes).
struct UserState {
  uint64_t rng = 0;
  int64_t next_time = 0;         // simulated time of the planned action
  int64_t last_stamp = 0;        // event time of the person's latest event
  int64_t cart_cents = 0;        // value of the cart
  uint32_t sequence = 0;         // events emitted so far
  uint32_t orders = 0;           // orders started (the next order's number)
  int64_t session_delay_ms = 0;  // how late this session's events are stamped
  uint16_t session_events = 0;
  uint16_t sessions_until_lapse = 0;
  uint16_t product = 0;                   // product being looked at
  Action action = Action::kPage;          // the planned action
  Action after_identify = Action::kPage;  // what follows a planned identify
  uint8_t device = 0;                     // device of this session
  uint8_t identified_devices = 0;         // bit d: logged in on device d
  uint8_t category = 0;                   // category being browsed
  uint8_t page = 0;                       // page of a planned kPage
  uint8_t quantity = 1;                   // quantity of a planned kProductAdded
  bool has_account = false;
};

// One event decided by the model; the source turns it into a Record.
struct ModelEvent {
  Action action = Action::kPage;
  int64_t event_time = 0;  // the stamp on the record (may lag the simulated time)
  uint32_t sequence = 0;
  uint8_t device = 0;
  bool identified = false;  // the device is logged in (the record carries userId)
  uint8_t page = 0;
  uint8_t category = 0;
  uint16_t product = 0;
  uint8_t quantity = 0;
  uint32_t order = 0;
  int64_t revenue_cents = 0;
};

class UserModel {
 public:
  // `max_delay_ms`: how late a delayed session's events may be stamped (out-of-order).
  UserModel(uint64_t seed, int64_t start_ms, int64_t max_delay_ms);

  UserProfile profile(uint32_t user) const;
  UserState initial_state(const UserProfile& profile) const;
  // Takes the planned event of `state` and plans the next one (state.next_time grows).
  ModelEvent step(const UserProfile& profile, UserState& state) const;

  const Catalog& catalog() const { return catalog_; }

 private:
  void begin_session(const UserProfile& p, UserState& s, SplitMix64& rng, int64_t at) const;
  void end_session(const UserProfile& p, UserState& s, SplitMix64& rng) const;
  // The next action of the session after `done`, or false when the session ends.
  bool choose_next(const UserProfile& p, UserState& s, SplitMix64& rng, Action done) const;
  uint16_t choose_product(const UserProfile& p, SplitMix64& rng, uint32_t category) const;
  uint8_t choose_category(const UserProfile& p, SplitMix64& rng) const;

  uint64_t seed_;
  int64_t start_ms_;
  int64_t max_delay_ms_;
  Catalog catalog_;
};

}  // namespace segflow::generator

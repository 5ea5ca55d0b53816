// The fixed world the generator's shoppers live in: product categories and a product
// catalog (bargain to premium prices), countries with their time zones and locales, device
// types and page names. Built once per generator subtask from the seed; read-only after.
// Thread safety: immutable after construction.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace segflow::generator {

struct Category {
  std::string_view name;
  uint32_t weight;  // popularity among shoppers without a favourite here
  double min_price;
  double max_price;
};
inline constexpr std::array<Category, 8> kCategories = {{
    {"electronics", 20, 4.0, 2500.0},
    {"fashion", 20, 8.0, 450.0},
    {"home", 15, 4.0, 1200.0},
    {"beauty", 10, 3.0, 180.0},
    {"sports", 10, 6.0, 900.0},
    {"books", 8, 4.0, 70.0},
    {"toys", 8, 3.0, 250.0},
    {"grocery", 9, 1.0, 60.0},
}};

struct Country {
  std::string_view code;  // ISO 3166-1 alpha-2
  std::string_view timezone;
  std::string_view locale;
  int32_t utc_offset_minutes;  // standard time; daylight saving is ignored
  uint32_t weight;
};
inline constexpr std::array<Country, 14> kCountries = {{
    {"US", "America/New_York", "en-US", -300, 22},
    {"US", "America/Chicago", "en-US", -360, 8},
    {"US", "America/Los_Angeles", "en-US", -480, 10},
    {"CA", "America/Toronto", "en-CA", -300, 4},
    {"GB", "Europe/London", "en-GB", 0, 9},
    {"DE", "Europe/Berlin", "de-DE", 60, 8},
    {"FR", "Europe/Paris", "fr-FR", 60, 6},
    {"ES", "Europe/Madrid", "es-ES", 60, 4},
    {"NL", "Europe/Amsterdam", "nl-NL", 60, 3},
    {"BR", "America/Sao_Paulo", "pt-BR", -180, 6},
    {"MX", "America/Mexico_City", "es-MX", -360, 4},
    {"IN", "Asia/Kolkata", "en-IN", 330, 7},
    {"JP", "Asia/Tokyo", "ja-JP", 540, 5},
    {"AU", "Australia/Sydney", "en-AU", 600, 4},
}};

enum class DeviceType : uint8_t { kDesktop, kMobile, kTablet };
inline constexpr std::array<std::string_view, 3> kDeviceTypeNames = {"desktop", "mobile", "tablet"};

// Pages: the first few are where sessions land, the rest are visited along the way.
inline constexpr std::array<std::string_view, 7> kPageNames = {
    "Home", "Category", "Deals", "Search", "Cart", "Account", "Help"};
inline constexpr std::array<uint32_t, 7> kLandingPageWeights = {45, 20, 15, 20, 0, 0, 0};
inline constexpr std::array<uint32_t, 7> kBrowsingPageWeights = {5, 0, 20, 35, 20, 12, 8};

enum class PriceTier : uint8_t { kBargain, kMid, kPremium };

struct Product {
  std::string id;  // "sku-0042"
  uint8_t category;
  int64_t price_cents;  // always ends in 99
};

class Catalog {
 public:
  static constexpr uint32_t kProductsPerCategory = 60;

  explicit Catalog(uint64_t seed);

  const Product& product(uint32_t index) const { return products_[index]; }
  uint32_t size() const { return static_cast<uint32_t>(products_.size()); }
  // The products of `category` are [first_of(category), first_of(category) + count),
  // cheapest first.
  uint32_t first_of(uint32_t category) const { return category * kProductsPerCategory; }
  // The slice of a category's products in `tier`: the cheapest 30%, the middle, or the
  // dearest 20%.
  static uint32_t tier_begin(PriceTier tier);
  static uint32_t tier_end(PriceTier tier);

 private:
  std::vector<Product> products_;
};

}  // namespace segflow::generator

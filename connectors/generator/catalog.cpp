#include "connectors/generator/catalog.h"

#include <algorithm>
#include <cmath>

#include "connectors/generator/random.h"

namespace segflow::generator {

Catalog::Catalog(uint64_t seed) {
  SplitMix64 rng(mix64(seed ^ 0x636174616c6f67ULL));
  products_.reserve(kCategories.size() * kProductsPerCategory);
  for (uint32_t c = 0; c < kCategories.size(); ++c) {
    std::vector<int64_t> prices;
    for (uint32_t i = 0; i < kProductsPerCategory; ++i) {
      const double raw = rng.log_uniform(kCategories[c].min_price, kCategories[c].max_price);
      prices.push_back(static_cast<int64_t>(std::ceil(raw)) * 100 - 1);
    }
    std::sort(prices.begin(), prices.end());
    for (uint32_t i = 0; i < kProductsPerCategory; ++i) {
      const uint32_t index = static_cast<uint32_t>(products_.size());
      std::string id = std::to_string(index);
      id.insert(0, 4 - std::min<size_t>(4, id.size()), '0');
      products_.push_back(Product{"sku-" + id, static_cast<uint8_t>(c), prices[i]});
    }
  }
}

uint32_t Catalog::tier_begin(PriceTier tier) {
  switch (tier) {
    case PriceTier::kBargain:
      return 0;
    case PriceTier::kMid:
      return kProductsPerCategory * 3 / 10;
    case PriceTier::kPremium:
      return kProductsPerCategory * 8 / 10;
  }
  return 0;
}

uint32_t Catalog::tier_end(PriceTier tier) {
  switch (tier) {
    case PriceTier::kBargain:
      return kProductsPerCategory * 3 / 10;
    case PriceTier::kMid:
      return kProductsPerCategory * 8 / 10;
    case PriceTier::kPremium:
      return kProductsPerCategory;
  }
  return kProductsPerCategory;
}

}  // namespace segflow::generator

#pragma once
// reference_set: a realistic, seeded set of reference data (SPEC §4) — the
// bookkeeping rules of a retail brokerage, its product lines, a security
// master with valid cusips, prices (some cusips deliberately unpriced) and
// house margin rule lists, and FX rates of a few currencies into USD. make_reference_data() is deterministic in the
// config's seed and cusip_count.
//
// Value type; build once, then share read-only.

#include "workload/config.h"

#include "model/refdata.h"

#include <cstddef>
#include <string>
#include <vector>

namespace posd::engine {
class reference_data;
}

namespace posd::workload {

// Product lines make_reference_data() defines (ProductDefinition prodline).
namespace product_lines {
inline constexpr const char* equity = "EQ";
inline constexpr const char* etf = "ETF";
inline constexpr const char* mutual_fund = "MF";      // fractions allowed, FIXED at 1.00
inline constexpr const char* corporate_bond = "CB";   // factor 0.01 (percent of par)
inline constexpr const char* municipal_bond = "MUNI"; // factor 0.01, PREVIOUS_CLOSE
inline constexpr const char* option = "OPT";          // contract size 100 from the security master
inline constexpr const char* penny_stock = "PEN";     // non-marginable
inline constexpr const char* restricted = "RST";      // extRuleFlag Z, NOT_VALUED
inline constexpr const char* annuity = "ANN";         // held away, contributesToEquitySw N
} // namespace product_lines

struct reference_set {
    std::vector<model::bookkeeping_rule> bookkeeping_rules;
    std::vector<model::product_definition> products;
    std::vector<model::security> securities; // index = the generator's cusip index
    std::vector<model::price> prices;        // one per priced cusip, in securities order
    std::vector<model::margin_rule> margin_rules;
    std::vector<model::fx_rate> fx_rates;    // into USD (the default base currency), by currency

    // Upserts everything into the engine's tables.
    void load_into(engine::reference_data& out) const;

    const model::bookkeeping_rule* rule(std::string_view maxx_key_code) const;
    const model::product_definition* product(std::string_view prodline) const;
};

reference_set make_reference_data(const workload_config& config);

// A valid cusip: the 8 characters plus their check digit.
std::string make_cusip(std::string_view first_eight);

} // namespace posd::workload

#pragma once
// Market value and per-position requirements (libs/engine/README.md,
// "Market value"). Pure functions of a position's quantity, its reference
// data and the configuration.

#include "engine/config.h"
#include "model/refdata.h"
#include "model/state.h"

#include <optional>
#include <span>
#include <string_view>

namespace posd::engine {

// The account type of an account base number (engine_config's rule).
std::string_view account_type_of(const engine_config& config, std::string_view base);
bool is_margin_account(const engine_config& config, std::string_view account_type);
bool may_go_short(const engine_config& config, std::string_view account_type);

struct valuation {
    decimal price;          // price used
    std::string_view rule;  // STANDARD, PREVIOUS_CLOSE, FIXED, NOT_VALUED, DEFAULT_PRICE, NO_PRICE
    decimal market_value;   // whole units, signed
    decimal loan_value;
    decimal equity_req;     // exchange requirement
    bool contributes = false;
};

// Values `td_qty` of a product. `sec` and `px` may be null. Returns nullopt
// only if a result does not fit a decimal (beyond base/limits.h).
std::optional<valuation> value_position(const engine_config& config, decimal td_qty,
                                        const model::product_definition& product,
                                        const model::security* sec, const model::price* px,
                                        bool margin_account);

// The house rate of a concentration under a rule list (sorted by sequence):
// the action of the first rule whose level the concentration reaches, else 0.
decimal house_rate(std::span<const model::margin_rule> rules, decimal concentration);

// max(equity_req, round2(rate * |market_value|)).
decimal house_requirement(decimal equity_req, decimal rate, decimal market_value);

} // namespace posd::engine

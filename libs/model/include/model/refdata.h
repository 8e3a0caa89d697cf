#pragma once
// Reference data records (SPEC §4). Loaded from compacted topics or files;
// the engine reads them through engine/reference_data.h.

#include "base/date.h"
#include "base/decimal.h"

#include <cstdint>
#include <optional>
#include <string>

namespace posd::model {

struct bookkeeping_rule {
    std::string maxx_key_code;
    std::string short_desc;
    std::string long_desc;
    bool upd_td_bal_sw = false; // trade-date balance moves by amount
    bool upd_sd_bal_sw = false; // settlement-date balance moves by amount
    bool adj_sma_sw = false;    // SMA moves by amount
    bool upd_td_qty_sw = false; // trade-date quantity moves by quantity
    bool upd_sd_qty_sw = false; // settlement-date quantity moves by quantity
};

struct product_definition {
    std::string prodline;
    std::string desc_short;
    decimal factor = decimal::from_units(1);       // 0.01 for bonds quoted in percent of par
    std::optional<decimal> default_price_for_mgn;  // used when no price is known
    bool fractions_allowed_sw = false;
    bool marginable_flag = true;
    bool contributes_to_equity_sw = true;
    std::string ext_rule_flag;                     // pricing rule selector, engine/README.md
};

struct security {
    std::string cusip;
    std::string uls;          // underlying security (options), may be empty
    std::string product_line;
    std::optional<decimal> strike_price;
    std::optional<decimal> contract_size; // 1 when absent
    std::optional<date> exp_or_maturity_date;
};

struct price {
    std::string cusip;
    decimal price;
    std::optional<decimal> prev_price;
    timestamp as_of;
};

// An FX rate (topic `fx-rates`, key "CCY/BASE", e.g. "JPY/USD"): one unit of
// `currency` is worth `rate` units of `base_currency`. Only direct rates into
// an account's base currency are used (no inverse, no cross rates).
struct fx_rate {
    std::string currency;      // ISO 4217, 3 letters A-Z
    std::string base_currency; // ISO 4217, 3 letters A-Z, not `currency`
    decimal rate;              // > 0, at most limits::fx_rate_units_max
    timestamp as_of;
};

struct margin_rule {
    std::string nyrs_mgn_rule; // rule list name
    std::int32_t nyrs_mgn_seq = 0;
    decimal nyrs_level;        // concentration at or above which the rule applies (fraction, 0..1)
    decimal nyrs_action;       // house requirement rate (fraction of market value)
};

} // namespace posd::model

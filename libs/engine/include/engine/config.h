#pragma once
// engine_config: the knobs of the pure engine, with the defaults documented
// in libs/engine/README.md. Plain data; the service fills it from its
// configuration file.

#include "base/date.h"
#include "base/decimal.h"
#include "base/limits.h"

#include <cstddef>
#include <optional>
#include <set>
#include <string>

namespace posd::engine {

struct engine_config {
    // Account type: the character of `base` at this index from the end
    // (0 = last character).
    std::size_t account_type_index_from_end = 0;
    // Account types that may hold short positions; a sell that would take
    // tdQty below zero elsewhere is rejected INSUFFICIENT_POSITION.
    std::set<std::string, std::less<>> short_account_types = {"3"};
    // Account types evaluated as margin accounts (SMA, loan value, cash
    // available from SMA); all others are cash accounts.
    std::set<std::string, std::less<>> margin_account_types = {"2", "3"};
    // Reg T initial requirement (Regulation T §220.12): 50%.
    decimal reg_t_initial_rate = decimal::from_scaled(50, 2);
    // FINRA Rule 4210(c) maintenance: 25% long; short 30% or $5/share
    // (price >= $5), 100% or $2.50/share (price < $5).
    decimal exch_long_rate = decimal::from_scaled(25, 2);
    decimal exch_short_rate = decimal::from_scaled(30, 2);
    decimal exch_short_low_price = decimal::from_units(5);
    decimal exch_short_per_share = decimal::from_units(5);
    decimal exch_short_low_per_share = decimal::from_scaled(250, 2);
    // The base currency of an account created from now on (ISO 4217):
    // cash in it is tdBal/sdBal, every other currency's cash is converted
    // into it through the FX rates, and margin is computed in it. Security
    // prices are taken to be in it.
    std::string base_currency = "USD";
    // House margin rule list used when the account's acctCategory has none.
    std::string default_margin_rule = "DEFAULT";
    // Business date of a partition's first record when it has none
    // (nullopt: the UTC date of the processing time).
    std::optional<date> initial_business_date;
    // An END_OF_DAY for a date more than this many days after the
    // partition's business date is rejected DATE_OUT_OF_RANGE (a typo such
    // as 2999-12-31 would otherwise jump the business date and settle every
    // pending trade at once). posd setting end-of-day.max-days-ahead.
    std::int32_t end_of_day_max_days_ahead = 31;
    // Applied activity ids remembered per partition.
    std::size_t applied_ids_retained = limits::applied_ids_retained_default;
};

} // namespace posd::engine

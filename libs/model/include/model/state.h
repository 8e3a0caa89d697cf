#pragma once
// Durable state (SPEC §5): what the engine reads and writes, and what the
// store persists. Every entity carries its own key fields.

#include "base/date.h"
#include "base/decimal.h"
#include "model/keys.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace posd::model {

struct position_metadata {
    bool bond_redeem_sw = false;
    bool acct_transferred_sw = false;
    bool reverse_split_sw = false;
    decimal acct_activity_qty; // sum of applied quantities
    decimal acct_activity_amt; // sum of applied amounts
    friend bool operator==(const position_metadata&, const position_metadata&) = default;
};

struct position {
    std::string firm_postrmt;
    std::string ledger_postrmt;
    std::string branch_postrmt;
    std::string base_postrmt;
    std::string acct_type_postrmt;
    std::string sub_acct_key;
    std::string cusip;
    decimal td_qty;
    decimal sd_qty;
    decimal td_qty_short_side; // |tdQty| when short, else 0
    decimal house_req;         // house requirement of this position at its last change
    decimal equity_req;        // exchange (FINRA 4210) requirement of this position
    decimal loss;              // max(0, costBasis - marketValue)
    std::optional<date> short_exp_date;
    std::string pairoff_acct_type;
    std::string pairoff_cusip;
    decimal pairoff_td_qty;
    decimal cost_basis;        // average cost, signed (negative for shorts)
    decimal market_value;      // last valuation, whole currency units, signed
    decimal loan_value;        // this position's contribution to the account's loan value
    bool contributes_to_equity = false; // whether market_value counted in mvTdLong/Short
    std::uint64_t version = 0; // +1 per change; 0 = never existed
    position_metadata metadata;

    position_key key() const {
        return make_position_key(firm_postrmt, ledger_postrmt, branch_postrmt, base_postrmt, sub_acct_key, cusip);
    }
    account_key account() const { return make_account_key(firm_postrmt, ledger_postrmt, branch_postrmt, base_postrmt); }
    friend bool operator==(const position&, const position&) = default;
};

struct managed_position {
    std::string firm_prodpc;
    std::string ledger_prodpc;
    std::string branch_prodpc;
    std::string base_prodpc;
    std::string sub_acct_prodpc;
    std::string uls;
    std::string cusip;
    std::string product_line;
    std::optional<decimal> price;
    std::optional<decimal> prev_price;
    std::optional<decimal> strike_price;
    std::optional<decimal> contract_size;
    std::optional<date> exp_or_maturity_date;
    bool security_found_sw = false;
    bool uls_found_sw = false;
    friend bool operator==(const managed_position&, const managed_position&) = default;
};

enum class margin_call_state : std::uint8_t {
    none = 0,
    house = 1,    // equity below the house requirement
    exchange = 2, // equity below the exchange requirement as well
};

// An account's cash in one currency other than its base currency
// (libs/engine/README.md, "Currencies").
struct currency_cash {
    std::string currency;      // ISO 4217
    decimal td_bal;            // trade-date cash, in `currency`
    decimal sd_bal;            // settlement-date cash, in `currency`
    decimal rate;              // FX rate into the base currency used at the last evaluation
    decimal td_bal_base;       // round2(td_bal x rate), in the base currency
    decimal sd_bal_base;       // round2(sd_bal x rate), in the base currency
    friend bool operator==(const currency_cash&, const currency_cash&) = default;
};

struct margin_balance {
    std::string firm;
    std::string ledger;
    std::string branch;
    std::string base;
    std::string acct_type;
    std::string acct_category; // latest record's; selects the margin rule list
    std::string base_currency; // the account's base currency (engine_config's when the account was created)
    decimal td_bal;            // trade-date cash in the base currency only
    decimal sd_bal;            // settlement-date cash in the base currency only
    std::vector<currency_cash> cash; // cash in every other currency, by currency code
    decimal td_bal_total;      // td_bal + the base-currency value of every other currency's td_bal
    decimal sd_bal_total;      // the same for sd_bal
    decimal sma;               // base currency, like every field from here on
    decimal mv_td_long;
    decimal mv_td_short;
    decimal cash_avail;
    decimal loan_value;
    decimal reqt_house;
    decimal reqt_exch;
    decimal equity;
    margin_call_state margin_call = margin_call_state::none;
    decimal margin_call_amount;
    std::uint64_t version = 0;

    account_key account() const { return make_account_key(firm, ledger, branch, base); }
    friend bool operator==(const margin_balance&, const margin_balance&) = default;
};

// Per account and cusip: the sums over the account's positions in the cusip
// (all sub-accounts), from which the account's margin is evaluated.
struct portfolio_concentration {
    std::string account;        // account key (wire form)
    std::string cusip;
    decimal td_qty_conc;        // sum of tdQty
    decimal market_val;         // sum of signed market values
    decimal cusip_conc;         // gross MV of this cusip / gross MV of the account, at its last change
    std::string acct_category_conc; // margin rule list used (chosen by acctCategory)
    decimal mv_long;            // sum of long market values that contribute to equity
    decimal mv_short;           // sum of |short market values| that contribute to equity
    decimal exch_req;           // sum of positions' exchange requirements
    decimal loan_value;         // sum of positions' loan values
    decimal house_req;          // sum of positions' house requirements
    friend bool operator==(const portfolio_concentration&, const portfolio_concentration&) = default;
};

// A settlement-date effect waiting for its settle date (SPEC §6.3).
struct pending_settlement {
    date settle_date;
    std::uint64_t sequence = 0; // unique per partition, orders effects with equal dates
    std::string position_key;   // wire form
    decimal sd_qty;             // added to the position's sdQty when due
    decimal sd_bal;             // added to the account's sdBal when due, in `currency`
    std::string activity_id;
    std::string currency;       // of sd_bal; empty = the account's base currency
    friend bool operator==(const pending_settlement&, const pending_settlement&) = default;
};

struct partition_meta {
    std::int32_t partition = 0;
    std::int64_t next_offset = 0;        // first input offset not yet applied
    std::optional<date> business_date;   // unset until the first record
    std::uint64_t next_pending_sequence = 1;
    // Next offset of each partition of the prices topic, then of the
    // securities topic, whose changes the partition's positions reflect
    // (services/posd keeps it; the engine carries it through untouched).
    std::vector<std::int64_t> revalued_through;
    friend bool operator==(const partition_meta&, const partition_meta&) = default;
};

std::string_view to_string(margin_call_state s);

} // namespace posd::model

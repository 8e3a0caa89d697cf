#pragma once
// Input records (SPEC §3): activity records and control records, as the
// codec decodes them from JSON or protobuf. Field names follow the wire's
// camelCase names in snake_case; comments give the wire name where it
// differs by more than case.

#include "base/date.h"
#include "base/decimal.h"
#include "model/keys.h"
#include "model/reason.h"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace posd::model {

struct activity_record {
    // identity
    std::string activity_id;            // required, idempotency key
    std::optional<timestamp> event_time;
    std::string maxx_key_code;          // required, bookkeeping rule key
    // account
    std::string firm;                   // required, 4 characters
    std::string ledger;                 // required
    std::string branch;                 // required
    std::string base;                   // required, account base number
    std::string sub_acct_key;
    std::string acct_category;          // e.g. RETL, OMNI
    std::string rr;
    std::string us_citizenship;
    std::string ny_resident;
    std::string paper;                  // agreement indicators
    std::string intracct_eligible_type; // non-empty marks an intra-account transfer
    std::optional<decimal> intracct_min_amt;
    std::optional<date> account_closed_date;
    // instrument
    std::string cusip;                  // empty for cash
    std::string product_line;
    // amounts (signs are the record's, SPEC §3)
    decimal quantity;
    decimal amount;
    std::optional<decimal> price;
    std::string currency;               // ISO 4217; empty = the account's base currency
    // dates
    std::optional<date> trade_date;
    std::optional<date> settle_date;
    // metadata switches
    bool bond_redeem_sw = false;
    bool acct_transferred_sw = false;
    bool reverse_split_sw = false;

    account_key account() const { return make_account_key(firm, ledger, branch, base); }
    position_key position() const { return make_position_key(firm, ledger, branch, base, sub_acct_key, cusip); }
};

enum class control_action : std::uint8_t { end_of_day = 1 };

struct control_record {
    control_action action = control_action::end_of_day;
    date business_date;
};

// What the codec makes of one input record: an activity, a control record,
// or the reason it could not be decoded.
using decoded_record = std::variant<activity_record, control_record, reject>;

} // namespace posd::model

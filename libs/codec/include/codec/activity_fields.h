#pragma once
// activity_fields: the one place where an activity or control record's
// field texts become a validated model record. Both wire encodings (JSON in
// codec/json_decode.h, protobuf in codec/protobuf.h) first collect each
// field's text into raw_activity, then call build_record(), so the two
// encodings accept and reject exactly the same things with the same
// reasons and field names.
//
// Texts are views into the caller's buffer; build_record copies what it
// keeps. Stateless and thread-safe.

#include "model/records.h"

#include <optional>
#include <string_view>

namespace posd::codec {

// Each field as text, absent when the record does not carry it.
// Switches are normalised by the wire decoder to "Y" or "N" (JSON true/false
// and protobuf bools map there; any other text is kept as is and rejected).
// Decimal fields hold the number's literal text (JSON number token, or the
// content of a JSON string).
struct raw_activity {
    std::optional<std::string_view> type;            // absent/"activity" or "control"
    // control records
    std::optional<std::string_view> action;          // "END_OF_DAY"
    std::optional<std::string_view> business_date;
    // activity records (wire names in camelCase)
    std::optional<std::string_view> activity_id;
    std::optional<std::string_view> event_time;      // RFC 3339 text, or integer epoch milliseconds
    std::optional<std::string_view> maxx_key_code;
    std::optional<std::string_view> firm;
    std::optional<std::string_view> ledger;
    std::optional<std::string_view> branch;
    std::optional<std::string_view> base;
    std::optional<std::string_view> sub_acct_key;
    std::optional<std::string_view> acct_category;
    std::optional<std::string_view> rr;
    std::optional<std::string_view> us_citizenship;
    std::optional<std::string_view> ny_resident;
    std::optional<std::string_view> paper;
    std::optional<std::string_view> intracct_eligible_type;
    std::optional<std::string_view> intracct_min_amt;
    std::optional<std::string_view> account_closed_date;
    std::optional<std::string_view> cusip;
    std::optional<std::string_view> product_line;
    std::optional<std::string_view> quantity;
    std::optional<std::string_view> amount;
    std::optional<std::string_view> price;
    std::optional<std::string_view> currency;
    std::optional<std::string_view> trade_date;
    std::optional<std::string_view> settle_date;
    std::optional<std::string_view> bond_redeem_sw;
    std::optional<std::string_view> acct_transferred_sw;
    std::optional<std::string_view> reverse_split_sw;
};

// Validates and converts; returns the record or the reject (reason, field,
// message). See libs/codec/README.md for every rule.
model::decoded_record build_record(const raw_activity& raw);

} // namespace posd::codec

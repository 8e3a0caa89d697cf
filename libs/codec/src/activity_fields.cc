#include "codec/activity_fields.h"

#include "base/date.h"
#include "base/limits.h"
#include "field_rules.h"

#include <string>
#include <utility>

// Validation order (libs/codec/README.md, "Validation"): the first failure
// wins, so that one record always gets the same reason whichever encoding
// carried it.
//   1. type            (FIELD_TOO_LONG, UNKNOWN_RECORD_TYPE)
//   2. control records: action (FIELD_TOO_LONG, MISSING_FIELD,
//      UNKNOWN_RECORD_TYPE), businessDate (FIELD_TOO_LONG, MISSING_FIELD,
//      BAD_FIELD); every other field of a control record is ignored.
//   3. activity records: required fields, in this order: activityId,
//      maxxKeyCode, firm, ledger, branch, base (MISSING_FIELD).
//   4. every field top-down in raw_activity order; for each field its
//      length first (FIELD_TOO_LONG), then its value.
//
// Messages never repeat a field's value: the key parts are account numbers
// (SPEC §7), and the original bytes travel on the dead-letter record anyway.

namespace posd::codec {
namespace {

using namespace field_rules;

model::decoded_record build_control(const raw_activity& raw) {
    POSD_TRY(length_of(raw.action, "action"));
    POSD_TRY(required(raw.action, "action"));
    if (*raw.action != "END_OF_DAY")
        return make_reject(reason::unknown_record_type, "action", "unknown control action");
    POSD_TRY(length_of(raw.business_date, "businessDate"));
    POSD_TRY(required(raw.business_date, "businessDate"));
    std::optional<date> d;
    POSD_TRY(parse_date(*raw.business_date, "businessDate", d));
    return model::control_record{model::control_action::end_of_day, *d};
}

// Fills `out` (which holds an empty activity record) in place, or returns
// the reject. One return object in build_record lets the compiler build the
// record straight into the caller's variant instead of moving it there.
std::optional<model::reject> fill_record(const raw_activity& raw, model::decoded_record& out) {
    // 1. type
    POSD_TRY(length_of(raw.type, "type"));
    if (present(raw.type) && *raw.type == "control") {
        out = build_control(raw);
        return std::nullopt;
    }
    if (present(raw.type) && *raw.type != "activity")
        return make_reject(reason::unknown_record_type, "type", "unknown record type");

    // 3. required fields
    POSD_TRY(required(raw.activity_id, "activityId"));
    POSD_TRY(required(raw.maxx_key_code, "maxxKeyCode"));
    POSD_TRY(required(raw.firm, "firm"));
    POSD_TRY(required(raw.ledger, "ledger"));
    POSD_TRY(required(raw.branch, "branch"));
    POSD_TRY(required(raw.base, "base"));

    // 4. top-down
    model::activity_record& rec = std::get<model::activity_record>(out);
    if (too_long(raw.activity_id, limits::activity_id_bytes_max)) return reject_too_long("activityId");
    rec.activity_id.assign(*raw.activity_id);
    POSD_TRY(timestamp_field(raw.event_time, "eventTime", rec.event_time));
    POSD_TRY(text_field(raw.maxx_key_code, "maxxKeyCode", rec.maxx_key_code));
    POSD_TRY(text_field<text_rule::key_part>(raw.firm, "firm", rec.firm));
    if (rec.firm.size() != 4) return make_reject(reason::bad_field, "firm", "firm must be 4 characters");
    POSD_TRY(text_field<text_rule::key_part>(raw.ledger, "ledger", rec.ledger));
    POSD_TRY(text_field<text_rule::key_part>(raw.branch, "branch", rec.branch));
    POSD_TRY(text_field<text_rule::key_part>(raw.base, "base", rec.base));
    POSD_TRY(text_field<text_rule::key_part>(raw.sub_acct_key, "subAcctKey", rec.sub_acct_key));
    POSD_TRY(text_field(raw.acct_category, "acctCategory", rec.acct_category));
    POSD_TRY(text_field(raw.rr, "rr", rec.rr));
    POSD_TRY(text_field(raw.us_citizenship, "usCitizenship", rec.us_citizenship));
    POSD_TRY(text_field(raw.ny_resident, "nyResident", rec.ny_resident));
    POSD_TRY(text_field(raw.paper, "paper", rec.paper));
    POSD_TRY(text_field(raw.intracct_eligible_type, "intracctEligibleType", rec.intracct_eligible_type));
    POSD_TRY(decimal_field(raw.intracct_min_amt, "intracctMinAmt", limits::amount_units_max, sign_rule::non_negative,
                           rec.intracct_min_amt));
    POSD_TRY(date_field(raw.account_closed_date, "accountClosedDate", rec.account_closed_date));
    POSD_TRY(cusip_field(raw.cusip, "cusip", rec.cusip, presence::optional)); // absent or empty: a cash record
    POSD_TRY(text_field(raw.product_line, "productLine", rec.product_line));
    POSD_TRY(decimal_field(raw.quantity, "quantity", limits::quantity_units_max, sign_rule::any, rec.quantity));
    POSD_TRY(decimal_field(raw.amount, "amount", limits::amount_units_max, sign_rule::any, rec.amount));
    POSD_TRY(decimal_field(raw.price, "price", limits::price_units_max, sign_rule::non_negative, rec.price));
    POSD_TRY(length_of(raw.currency, "currency"));
    if (present(raw.currency)) {
        std::string_view c = *raw.currency;
        if (!is_currency_code(c)) return make_reject(reason::bad_field, "currency", "currency must be 3 letters A-Z (ISO 4217)");
        rec.currency.assign(c);
    }
    POSD_TRY(date_field(raw.trade_date, "tradeDate", rec.trade_date));
    POSD_TRY(date_field(raw.settle_date, "settleDate", rec.settle_date));
    if (rec.settle_date && rec.trade_date && *rec.settle_date < *rec.trade_date)
        return make_reject(reason::bad_field, "settleDate", "settleDate before tradeDate");
    // Switches: absent keeps the record's default, N (false).
    POSD_TRY(switch_field(raw.bond_redeem_sw, "bondRedeemSw", rec.bond_redeem_sw));
    POSD_TRY(switch_field(raw.acct_transferred_sw, "acctTransferredSw", rec.acct_transferred_sw));
    POSD_TRY(switch_field(raw.reverse_split_sw, "reverseSplitSw", rec.reverse_split_sw));
    return std::nullopt;
}

} // namespace

model::decoded_record build_record(const raw_activity& raw) {
    model::decoded_record out; // an empty activity record
    if (auto rejected = fill_record(raw, out)) out = std::move(*rejected);
    return out;
}

} // namespace posd::codec

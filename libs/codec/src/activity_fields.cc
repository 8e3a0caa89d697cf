#include "codec/activity_fields.h"

#include "base/cusip.h"
#include "base/date.h"
#include "base/decimal.h"
#include "base/limits.h"

#include <array>
#include <cstdint>
#include <limits>
#include <string>

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

// Returns the reject an expression yields, if any.
#define POSD_TRY(expr)                                   \
    do {                                                 \
        if (auto posd_rej_ = (expr)) return std::move(*posd_rej_); \
    } while (0)

namespace posd::codec {
namespace {

using model::reason;
using opt_text = std::optional<std::string_view>;

// Rejects are the rare path: building one is kept out of line so that the
// checks on the hot path stay small enough to inline.
[[gnu::cold]] [[gnu::noinline]] model::reject make_reject(reason r, std::string_view field,
                                                          std::string_view message) {
    return model::reject{r, std::string(field), std::string(message)};
}

[[gnu::cold]] [[gnu::noinline]] model::reject reject_too_long(std::string_view field) {
    return model::reject{reason::field_too_long, std::string(field), std::string(field) + " too long"};
}

[[gnu::cold]] [[gnu::noinline]] model::reject reject_separator(std::string_view field) {
    return model::reject{reason::bad_field, std::string(field), std::string(field) + " must not contain '|'"};
}

bool too_long(const opt_text& v, std::size_t max = limits::field_bytes_max) {
    return v && v->size() > max;
}

bool present(const opt_text& v) { return v && !v->empty(); }

// Parses a decimal field with its magnitude cap. `allow_negative` false
// rejects negative values with BAD_FIELD (prices, minimum amounts).
std::optional<model::reject> parse_decimal(std::string_view text, std::string_view field,
                                           std::int64_t units_max, bool allow_negative,
                                           decimal& out) {
    switch (decimal::parse(text, out)) {
    case decimal::parse_error::none: break;
    case decimal::parse_error::malformed:
        return make_reject(reason::bad_field, field, "not a decimal number");
    case decimal::parse_error::too_precise:
        return make_reject(reason::number_out_of_range, field, "more than 9 fraction digits");
    case decimal::parse_error::out_of_range:
        return make_reject(reason::number_out_of_range, field, "number out of range");
    }
    if (!allow_negative && out.is_negative())
        return make_reject(reason::bad_field, field, "must not be negative");
    if (out.abs() > decimal::from_units(units_max))
        return make_reject(reason::number_out_of_range, field, "magnitude above the limit");
    return std::nullopt;
}

std::optional<model::reject> parse_date(std::string_view text, std::string_view field,
                                        std::optional<date>& out) {
    out = date::parse(text);
    if (!out) return make_reject(reason::bad_field, field, "not a date YYYY-MM-DD");
    return std::nullopt;
}

std::optional<model::reject> parse_switch(const opt_text& text, std::string_view field, bool& out) {
    if (!text || *text == "N") {
        out = false;
    } else if (*text == "Y") {
        out = true;
    } else {
        return make_reject(reason::bad_field, field, "switch must be Y or N");
    }
    return std::nullopt;
}

// The timestamps posd accepts: 1900-01-01T00:00:00Z up to, not including,
// 3000-01-01T00:00:00Z, the range base/date.h can print and parse back.
constexpr std::int64_t event_time_ms_min = -2'208'988'800'000;
constexpr std::int64_t event_time_ms_end = 32'503'680'000'000;

std::optional<model::reject> parse_event_time(std::string_view text, std::optional<timestamp>& out) {
    constexpr std::string_view field = "eventTime";
    std::size_t i = !text.empty() && text[0] == '-' ? 1 : 0;
    bool all_digits = i < text.size();
    for (std::size_t j = i; j < text.size() && all_digits; ++j)
        all_digits = text[j] >= '0' && text[j] <= '9';
    if (all_digits) {
        // Epoch milliseconds; accumulate negatively so INT64_MIN fits.
        std::int64_t v = 0;
        for (std::size_t j = i; j < text.size(); ++j) {
            if (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, text[j] - '0', &v))
                return make_reject(reason::number_out_of_range, field, "epoch milliseconds beyond 64 bits");
        }
        if (i == 0) {
            if (v == std::numeric_limits<std::int64_t>::min())
                return make_reject(reason::number_out_of_range, field, "epoch milliseconds beyond 64 bits");
            v = -v;
        }
        if (v < event_time_ms_min || v >= event_time_ms_end)
            return make_reject(reason::number_out_of_range, field, "time outside the years 1900-2999");
        out = timestamp{v};
        return std::nullopt;
    }
    out = timestamp::parse(text);
    if (!out) return make_reject(reason::bad_field, field, "not an RFC 3339 time or epoch milliseconds");
    if (out->ms < event_time_ms_min || out->ms >= event_time_ms_end)
        return make_reject(reason::bad_field, field, "time outside the years 1900-2999");
    return std::nullopt;
}

bool has_separator(std::string_view v) { return v.find('|') != std::string_view::npos; }

// A plain text field: its length, then copied as is. A key part must also
// not contain the key separator.
inline std::optional<model::reject> text_field(const opt_text& v, std::string_view wire, std::string& out,
                                               bool key_part = false) {
    if (too_long(v)) [[unlikely]] return reject_too_long(wire);
    if (!v) return std::nullopt;
    if (key_part && has_separator(*v)) [[unlikely]] return reject_separator(wire);
    out.assign(*v);
    return std::nullopt;
}

inline std::optional<model::reject> length_of(const opt_text& v, std::string_view wire) {
    if (too_long(v)) [[unlikely]] return reject_too_long(wire);
    return std::nullopt;
}

model::decoded_record build_control(const raw_activity& raw) {
    POSD_TRY(length_of(raw.action, "action"));
    if (!present(raw.action)) return make_reject(reason::missing_field, "action", "action is missing");
    if (*raw.action != "END_OF_DAY")
        return make_reject(reason::unknown_record_type, "action", "unknown control action");
    POSD_TRY(length_of(raw.business_date, "businessDate"));
    if (!present(raw.business_date))
        return make_reject(reason::missing_field, "businessDate", "businessDate is missing");
    auto d = date::parse(*raw.business_date);
    if (!d) return make_reject(reason::bad_field, "businessDate", "not a date YYYY-MM-DD");
    return model::control_record{model::control_action::end_of_day, *d};
}

// Fills `out` (which holds an empty activity record) in place, or returns
// the reject. One return object in build_record lets the compiler build the
// record straight into the caller's variant instead of moving it there.
std::optional<model::reject> fill_record(const raw_activity& raw, model::decoded_record& out) {
    // 1. type
    POSD_TRY(length_of(raw.type, "type"));
    if (raw.type && *raw.type == "control") {
        out = build_control(raw);
        return std::nullopt;
    }
    if (raw.type && *raw.type != "activity")
        return make_reject(reason::unknown_record_type, "type", "unknown record type");

    // 3. required fields
    if (!present(raw.activity_id)) return make_reject(reason::missing_field, "activityId", "activityId is missing");
    if (!present(raw.maxx_key_code)) return make_reject(reason::missing_field, "maxxKeyCode", "maxxKeyCode is missing");
    if (!present(raw.firm)) return make_reject(reason::missing_field, "firm", "firm is missing");
    if (!present(raw.ledger)) return make_reject(reason::missing_field, "ledger", "ledger is missing");
    if (!present(raw.branch)) return make_reject(reason::missing_field, "branch", "branch is missing");
    if (!present(raw.base)) return make_reject(reason::missing_field, "base", "base is missing");

    // 4. top-down
    model::activity_record& rec = std::get<model::activity_record>(out);
    if (too_long(raw.activity_id, limits::activity_id_bytes_max)) return reject_too_long("activityId");
    rec.activity_id.assign(*raw.activity_id);
    POSD_TRY(length_of(raw.event_time, "eventTime"));
    if (raw.event_time) POSD_TRY(parse_event_time(*raw.event_time, rec.event_time));
    POSD_TRY(text_field(raw.maxx_key_code, "maxxKeyCode", rec.maxx_key_code));
    POSD_TRY(text_field(raw.firm, "firm", rec.firm, true));
    if (rec.firm.size() != 4) return make_reject(reason::bad_field, "firm", "firm must be 4 characters");
    POSD_TRY(text_field(raw.ledger, "ledger", rec.ledger, true));
    POSD_TRY(text_field(raw.branch, "branch", rec.branch, true));
    POSD_TRY(text_field(raw.base, "base", rec.base, true));
    POSD_TRY(text_field(raw.sub_acct_key, "subAcctKey", rec.sub_acct_key, true));
    POSD_TRY(text_field(raw.acct_category, "acctCategory", rec.acct_category));
    POSD_TRY(text_field(raw.rr, "rr", rec.rr));
    POSD_TRY(text_field(raw.us_citizenship, "usCitizenship", rec.us_citizenship));
    POSD_TRY(text_field(raw.ny_resident, "nyResident", rec.ny_resident));
    POSD_TRY(text_field(raw.paper, "paper", rec.paper));
    POSD_TRY(text_field(raw.intracct_eligible_type, "intracctEligibleType", rec.intracct_eligible_type));
    POSD_TRY(length_of(raw.intracct_min_amt, "intracctMinAmt"));
    if (raw.intracct_min_amt) {
        decimal d;
        POSD_TRY(parse_decimal(*raw.intracct_min_amt, "intracctMinAmt", limits::amount_units_max, false, d));
        rec.intracct_min_amt = d;
    }
    POSD_TRY(length_of(raw.account_closed_date, "accountClosedDate"));
    if (raw.account_closed_date)
        POSD_TRY(parse_date(*raw.account_closed_date, "accountClosedDate", rec.account_closed_date));
    POSD_TRY(length_of(raw.cusip, "cusip"));
    if (present(raw.cusip)) {
        if (!cusip::well_formed(*raw.cusip))
            return make_reject(reason::bad_field, "cusip", "cusip must be 9 characters of 0-9 A-Z * @ #, the last a digit");
        if (cusip::check_digit(*raw.cusip) != (*raw.cusip)[8])
            return make_reject(reason::bad_cusip_check_digit, "cusip", "cusip check digit does not match");
        rec.cusip.assign(*raw.cusip);
    }
    POSD_TRY(text_field(raw.product_line, "productLine", rec.product_line));
    POSD_TRY(length_of(raw.quantity, "quantity"));
    if (raw.quantity)
        POSD_TRY(parse_decimal(*raw.quantity, "quantity", limits::quantity_units_max, true, rec.quantity));
    POSD_TRY(length_of(raw.amount, "amount"));
    if (raw.amount) POSD_TRY(parse_decimal(*raw.amount, "amount", limits::amount_units_max, true, rec.amount));
    POSD_TRY(length_of(raw.price, "price"));
    if (raw.price) {
        decimal d;
        POSD_TRY(parse_decimal(*raw.price, "price", limits::price_units_max, false, d));
        rec.price = d;
    }
    POSD_TRY(length_of(raw.currency, "currency"));
    if (raw.currency) {
        std::string_view c = *raw.currency;
        bool ok = c.size() == 3;
        for (char ch : c) ok = ok && ch >= 'A' && ch <= 'Z';
        if (!ok) return make_reject(reason::bad_field, "currency", "currency must be 3 letters A-Z (ISO 4217)");
        rec.currency.assign(c);
    }
    POSD_TRY(length_of(raw.trade_date, "tradeDate"));
    if (raw.trade_date) POSD_TRY(parse_date(*raw.trade_date, "tradeDate", rec.trade_date));
    POSD_TRY(length_of(raw.settle_date, "settleDate"));
    if (raw.settle_date) {
        POSD_TRY(parse_date(*raw.settle_date, "settleDate", rec.settle_date));
        if (rec.trade_date && *rec.settle_date < *rec.trade_date)
            return make_reject(reason::bad_field, "settleDate", "settleDate before tradeDate");
    }
    POSD_TRY(length_of(raw.bond_redeem_sw, "bondRedeemSw"));
    POSD_TRY(parse_switch(raw.bond_redeem_sw, "bondRedeemSw", rec.bond_redeem_sw));
    POSD_TRY(length_of(raw.acct_transferred_sw, "acctTransferredSw"));
    POSD_TRY(parse_switch(raw.acct_transferred_sw, "acctTransferredSw", rec.acct_transferred_sw));
    POSD_TRY(length_of(raw.reverse_split_sw, "reverseSplitSw"));
    POSD_TRY(parse_switch(raw.reverse_split_sw, "reverseSplitSw", rec.reverse_split_sw));
    return std::nullopt;
}

} // namespace

model::decoded_record build_record(const raw_activity& raw) {
    model::decoded_record out; // an empty activity record
    if (auto rejected = fill_record(raw, out)) out = std::move(*rejected);
    return out;
}

#undef POSD_TRY

} // namespace posd::codec

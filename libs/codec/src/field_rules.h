#pragma once
// field_rules: the per-field validation rules that activity and control
// records (activity_fields.cc) and reference data (json_decode.cc, section
// "Reference data rules") share, so that one kind of field is checked, and
// rejected with the same reason and message, wherever it appears. Private to
// libs/codec; the rules are in libs/codec/README.md ("Validation",
// "Reference data").
//
// Each rule takes the field's wire name (camelCase) for the reject's
// `field`. Messages never repeat a field's value (SPEC §7).
//
// build_record runs these checks on every input record: they are inline, and
// building a reject, the rare path, is kept out of line (field_rules.cc) so
// that the checks stay small enough to inline.

#include "base/cusip.h"
#include "base/date.h"
#include "base/decimal.h"
#include "base/limits.h"
#include "model/records.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

// Returns the reject an expression yields, if any.
#define POSD_TRY(expr)                                             \
    do {                                                           \
        if (auto posd_rej_ = (expr)) return std::move(*posd_rej_); \
    } while (0)

namespace posd::codec::field_rules {

using model::reason;
using opt_text = std::optional<std::string_view>;
using maybe_reject = std::optional<model::reject>;

// ---------------------------------------------------------------------------
// Rejects

[[gnu::cold]] [[gnu::noinline]] model::reject make_reject(reason r, std::string_view field,
                                                          std::string_view message);
// FIELD_TOO_LONG, "<field> too long".
[[gnu::cold]] [[gnu::noinline]] model::reject reject_too_long(std::string_view field);
// MISSING_FIELD, "<field> is missing".
[[gnu::cold]] [[gnu::noinline]] model::reject reject_missing(std::string_view field);
// BAD_FIELD, "<field> must not contain '|'".
[[gnu::cold]] [[gnu::noinline]] model::reject reject_separator(std::string_view field);

// The rules below have internal linkage, as they had when each .cc held its
// own copy: GCC then inlines them as it did (a rule used once is inlined
// whole), which it does less readily for inline functions with external
// linkage.
namespace {

// ---------------------------------------------------------------------------
// Presence and length

inline bool too_long(const opt_text& v, std::size_t max = limits::field_bytes_max) {
    return v && v->size() > max;
}

// Present: not absent and not empty. A JSON null, an empty JSON string and
// an empty protobuf string all mean "absent" for every field (README,
// "Empty and null fields"): every rule below checks present(), never the
// optional alone.
inline bool present(const opt_text& v) { return v && !v->empty(); }

// FIELD_TOO_LONG beyond limits::field_bytes_max.
inline maybe_reject length_of(const opt_text& v, std::string_view field) {
    if (too_long(v)) [[unlikely]] return reject_too_long(field);
    return std::nullopt;
}

// MISSING_FIELD when absent or empty.
inline maybe_reject required(const opt_text& v, std::string_view field) {
    if (!present(v)) [[unlikely]] return reject_missing(field);
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// Text

inline bool has_separator(std::string_view v) { return v.find('|') != std::string_view::npos; }

enum class text_rule : std::uint8_t {
    plain,    // any text
    required, // absent or empty → MISSING_FIELD (after the length)
    key_part, // no '|', the key separator (SPEC §2) → BAD_FIELD
};

// A text field: its length, then its rule, then copied into `out`. Absent
// or empty leaves `out` as it is. The rule is a template argument so that each
// variant compiles to its own small function.
template <text_rule rule = text_rule::plain>
inline maybe_reject text_field(const opt_text& v, std::string_view field, std::string& out) {
    if (too_long(v)) [[unlikely]] return reject_too_long(field);
    if (!present(v)) {
        if (rule == text_rule::required) [[unlikely]] return reject_missing(field);
        return std::nullopt;
    }
    if (rule == text_rule::key_part && has_separator(*v)) [[unlikely]] return reject_separator(field);
    out.assign(*v);
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// Decimals

enum class sign_rule : std::uint8_t {
    any,          // negative values allowed; the cap applies to the magnitude
    non_negative, // negative → BAD_FIELD
    positive,     // negative or zero → BAD_FIELD
};

// An exact decimal (decimal::parse): not a decimal literal → BAD_FIELD; more
// than 9 fraction or 18 integer digits → NUMBER_OUT_OF_RANGE; then the sign
// rule; then |value| ≤ units_max whole units, else NUMBER_OUT_OF_RANGE.
inline maybe_reject parse_decimal(std::string_view text, std::string_view field, std::int64_t units_max,
                                  sign_rule sign, decimal& out) {
    switch (decimal::parse(text, out)) {
    case decimal::parse_error::none: break;
    case decimal::parse_error::malformed:
        return make_reject(reason::bad_field, field, "not a decimal number");
    case decimal::parse_error::too_precise:
        return make_reject(reason::number_out_of_range, field, "more than 9 fraction digits");
    case decimal::parse_error::out_of_range:
        return make_reject(reason::number_out_of_range, field, "number out of range");
    }
    if (sign != sign_rule::any && out.is_negative())
        return make_reject(reason::bad_field, field, "must not be negative");
    if (sign == sign_rule::positive && out.is_zero()) return make_reject(reason::bad_field, field, "must be positive");
    if (out.abs() > decimal::from_units(units_max))
        return make_reject(reason::number_out_of_range, field, "magnitude above the limit");
    return std::nullopt;
}

// A decimal field: its length, then, when present, its value. Absent or
// empty leaves `out` as it is (the record's default).
inline maybe_reject decimal_field(const opt_text& v, std::string_view field, std::int64_t units_max, sign_rule sign,
                                  decimal& out) {
    if (too_long(v)) [[unlikely]] return reject_too_long(field);
    if (!present(v)) return std::nullopt;
    return parse_decimal(*v, field, units_max, sign, out);
}

inline maybe_reject decimal_field(const opt_text& v, std::string_view field, std::int64_t units_max, sign_rule sign,
                                  std::optional<decimal>& out) {
    if (too_long(v)) [[unlikely]] return reject_too_long(field);
    if (!present(v)) return std::nullopt;
    decimal d;
    POSD_TRY(parse_decimal(*v, field, units_max, sign, d));
    out = d;
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// Dates, switches

// A strict YYYY-MM-DD calendar date (date::parse_wide), else BAD_FIELD; in
// base/date.h's range 1900-01-01..2999-12-31, else DATE_OUT_OF_RANGE.
inline maybe_reject parse_date(std::string_view text, std::string_view field, std::optional<date>& out) {
    date d;
    switch (date::parse_wide(text, d)) {
    case date::parse_error::none: out = d; return std::nullopt;
    case date::parse_error::malformed: break;
    case date::parse_error::out_of_range:
        out.reset();
        return make_reject(reason::date_out_of_range, field, "date outside 1900-01-01..2999-12-31");
    }
    out.reset();
    return make_reject(reason::bad_field, field, "not a date YYYY-MM-DD");
}

// A date field: its length, then, when present (not empty), its value.
inline maybe_reject date_field(const opt_text& v, std::string_view field, std::optional<date>& out) {
    if (too_long(v)) [[unlikely]] return reject_too_long(field);
    if (!present(v)) return std::nullopt;
    return parse_date(*v, field, out);
}

// A switch: its length, then Y → true, N → false, absent or empty → `out` as it is
// (the record's default); anything else → BAD_FIELD. The wire decoders map
// JSON true/false and protobuf bools to Y/N.
inline maybe_reject switch_field(const opt_text& v, std::string_view field, bool& out) {
    if (too_long(v)) [[unlikely]] return reject_too_long(field);
    if (!present(v)) return std::nullopt;
    if (*v == "N") {
        out = false;
    } else if (*v == "Y") {
        out = true;
    } else {
        return make_reject(reason::bad_field, field, "switch must be Y or N");
    }
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// Integers and timestamps

// Digits with an optional leading '-': `digits_only` tells whether `text` is
// such an integer, and then `out` is its value. Returns false when it is one
// but does not fit 64 bits.
inline bool parse_integer(std::string_view text, bool& digits_only, std::int64_t& out) {
    const std::size_t i = !text.empty() && text[0] == '-' ? 1 : 0;
    digits_only = i < text.size();
    for (std::size_t j = i; j < text.size() && digits_only; ++j) digits_only = text[j] >= '0' && text[j] <= '9';
    if (!digits_only) return true;
    std::int64_t v = 0; // accumulated negatively so that INT64_MIN fits
    for (std::size_t j = i; j < text.size(); ++j)
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, text[j] - '0', &v)) return false;
    if (i == 0) {
        if (v == std::numeric_limits<std::int64_t>::min()) return false;
        v = -v;
    }
    out = v;
    return true;
}

// eventTime, asOf: an integer (digits, optional '-') is epoch milliseconds,
// which must fit 64 bits (else NUMBER_OUT_OF_RANGE); any other text must be
// RFC 3339 or a bare date (timestamp::parse_wide, else BAD_FIELD). Either
// way the instant must lie in base/date.h's range, 1900-01-01T00:00:00Z up
// to, not including, 3000-01-01T00:00:00Z, else DATE_OUT_OF_RANGE.
inline maybe_reject parse_timestamp(std::string_view text, std::string_view field, timestamp& out) {
    bool digits_only = false;
    std::int64_t ms = 0;
    if (!parse_integer(text, digits_only, ms))
        return make_reject(reason::number_out_of_range, field, "epoch milliseconds beyond 64 bits");
    timestamp t{ms};
    if (!digits_only && timestamp::parse_wide(text, t) == date::parse_error::malformed)
        return make_reject(reason::bad_field, field, "not an RFC 3339 time or epoch milliseconds");
    if (!t.in_range()) return make_reject(reason::date_out_of_range, field, "time outside 1900-01-01..2999-12-31");
    out = t;
    return std::nullopt;
}

// A timestamp field: its length, then, when present, its value. Absent
// leaves `out` as it is.
inline maybe_reject timestamp_field(const opt_text& v, std::string_view field, timestamp& out) {
    if (too_long(v)) [[unlikely]] return reject_too_long(field);
    if (!present(v)) return std::nullopt;
    return parse_timestamp(*v, field, out);
}

inline maybe_reject timestamp_field(const opt_text& v, std::string_view field, std::optional<timestamp>& out) {
    if (too_long(v)) [[unlikely]] return reject_too_long(field);
    if (!present(v)) return std::nullopt;
    timestamp t;
    POSD_TRY(parse_timestamp(*v, field, t));
    out = t;
    return std::nullopt;
}

// ---------------------------------------------------------------------------
// CUSIPs

// 9 characters of 0-9 A-Z * @ #, the last a digit, else BAD_FIELD; then the
// check digit (cusip::valid), else BAD_CUSIP_CHECK_DIGIT.
inline maybe_reject check_cusip(std::string_view text, std::string_view field) {
    if (!cusip::well_formed(text))
        return make_reject(reason::bad_field, field, "cusip must be 9 characters of 0-9 A-Z * @ #, the last a digit");
    if (cusip::check_digit(text) != text[8])
        return make_reject(reason::bad_cusip_check_digit, field, "cusip check digit does not match");
    return std::nullopt;
}

// An ISO 4217 code: three letters A-Z.
inline bool is_currency_code(std::string_view c) {
    bool ok = c.size() == 3;
    for (char ch : c) ok = ok && ch >= 'A' && ch <= 'Z';
    return ok;
}

enum class presence : std::uint8_t {
    optional, // absent or empty leaves `out` as it is (an activity's cash record)
    required, // absent or empty → MISSING_FIELD
};

// A cusip field: its length, its presence, then check_cusip; copied into
// `out`.
inline maybe_reject cusip_field(const opt_text& v, std::string_view field, std::string& out, presence need) {
    if (too_long(v)) [[unlikely]] return reject_too_long(field);
    if (!present(v)) {
        if (need == presence::required) return reject_missing(field);
        return std::nullopt;
    }
    POSD_TRY(check_cusip(*v, field));
    out.assign(*v);
    return std::nullopt;
}

} // namespace
} // namespace posd::codec::field_rules

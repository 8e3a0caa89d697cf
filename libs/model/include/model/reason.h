#pragma once
// Reject reasons: why a record was not applied. The numbers are stable and
// never reused; the codes are what the dead-letter topic's `reason` header
// carries. Add new reasons at the end.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace posd::model {

enum class reason : std::uint16_t {
    malformed = 1,                // not parseable JSON/protobuf, or a wrong JSON type
    missing_field = 2,            // a required field is absent or empty
    bad_field = 3,                // a value of the right type but not a valid value
    number_out_of_range = 4,      // a number beyond base/limits.h or an overflowing result
    bad_cusip_check_digit = 5,    // 9 characters but the check digit does not match
    unknown_key_code = 6,         // no BookkeepingRule for maxxKeyCode
    account_closed = 7,           // accountClosedDate on or before the business date
    fractional_not_allowed = 8,   // fractional quantity, product forbids fractions
    below_min_transfer = 9,       // intra-account transfer below intracctMinAmt
    insufficient_position = 10,   // would go short in an account type that may not
    key_mismatch = 11,            // message key != the record's account key
    unknown_product = 12,         // no ProductDefinition for the product line
    unsupported_content_type = 13,// content-type header names no known encoding
    field_too_long = 14,          // a string beyond limits::field_bytes_max
    invalid_encoding = 15,        // invalid UTF-8
    unknown_record_type = 16,     // "type" / control "action" not known
    record_too_large = 17,        // record beyond limits::record_bytes_max
    wrong_partition = 18,         // arrived on a partition other than its key's (murmur2) partition
    no_fx_rate = 19,              // no FX rate from the record's currency into the account's base currency
    date_out_of_range = 20,       // a date outside base/date.h's storable range (or a far-future END_OF_DAY)
};

inline constexpr std::uint16_t reason_max = 20;

// "MALFORMED", "MISSING_FIELD", ...
std::string_view reason_code(reason r);
std::optional<reason> reason_from_code(std::string_view code);

// A business outcome, not an error: carried to the dead-letter topic.
struct reject {
    model::reason reason = reason::malformed;
    std::string field;   // camelCase wire name of the field at fault, or empty
    std::string message; // human-readable; never contains an unmasked account number
};

} // namespace posd::model

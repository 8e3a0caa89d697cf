#include "model/reason.h"

#include <array>

namespace posd::model {
namespace {
constexpr std::array<std::string_view, reason_max + 1> codes = {
    "",
    "MALFORMED",
    "MISSING_FIELD",
    "BAD_FIELD",
    "NUMBER_OUT_OF_RANGE",
    "BAD_CUSIP_CHECK_DIGIT",
    "UNKNOWN_KEY_CODE",
    "ACCOUNT_CLOSED",
    "FRACTIONAL_NOT_ALLOWED",
    "BELOW_MIN_TRANSFER",
    "INSUFFICIENT_POSITION",
    "KEY_MISMATCH",
    "UNKNOWN_PRODUCT",
    "UNSUPPORTED_CONTENT_TYPE",
    "FIELD_TOO_LONG",
    "INVALID_ENCODING",
    "UNKNOWN_RECORD_TYPE",
    "RECORD_TOO_LARGE",
    "WRONG_PARTITION",
    "NO_FX_RATE",
    "DATE_OUT_OF_RANGE",
};
} // namespace

std::string_view reason_code(reason r) {
    auto i = static_cast<std::size_t>(r);
    return i < codes.size() ? codes[i] : std::string_view{"UNKNOWN"};
}

std::optional<reason> reason_from_code(std::string_view code) {
    for (std::size_t i = 1; i < codes.size(); ++i)
        if (codes[i] == code) return static_cast<reason>(i);
    return std::nullopt;
}

} // namespace posd::model

#pragma once
// decimal: an exact, signed fixed-point number with nine fraction digits,
// held in a 128-bit integer. posd uses it for every money amount, quantity,
// price and rate; there is no binary floating point anywhere in the engine.
//
// Arithmetic is checked: add, sub, mul and div return std::nullopt on
// overflow instead of wrapping. Multiplication and division round the
// tenth fraction digit half away from zero, as does round(). The plain
// operators (+, -, unary -) assert on overflow and are for values whose
// range is already bounded (see base/limits.h).
//
// A value type: no state beyond its integer, safe to copy between threads.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace posd {

// GCC's 128-bit integer; __extension__ keeps -Wpedantic quiet about it.
__extension__ typedef __int128 int128_t;
__extension__ typedef unsigned __int128 uint128_t;

class decimal {
public:
    using raw_type = int128_t;
    static constexpr int scale = 9;
    static constexpr raw_type unit = 1'000'000'000;

    constexpr decimal() = default;
    static constexpr decimal from_raw(raw_type raw) { decimal d; d.raw_ = raw; return d; }
    static constexpr decimal from_units(std::int64_t units) { return from_raw(raw_type{units} * unit); }
    // value = mantissa * 10^-fraction_digits, fraction_digits in [0, 9].
    static decimal from_scaled(std::int64_t mantissa, int fraction_digits);

    enum class parse_error { none, malformed, out_of_range, too_precise };
    // Parses a plain decimal literal: optional sign, digits, optional '.' and
    // digits, optional exponent (e/E, as JSON numbers may have). At most
    // limits::decimal_integer_digits_max integer digits after applying the
    // exponent, at most 9 fraction digits (trailing zeros do not count).
    static parse_error parse(std::string_view text, decimal& out);
    static std::optional<decimal> parse(std::string_view text);
    // The exact inverse of to_string() over the whole range: "-"? digits
    // ("." 1..9 digits)?, no exponent, no integer-digit cap. For stored
    // state, whose sums may exceed what an input may carry.
    static bool parse_canonical(std::string_view text, decimal& out);

    constexpr raw_type raw() const { return raw_; }
    constexpr bool is_zero() const { return raw_ == 0; }
    constexpr bool is_negative() const { return raw_ < 0; }
    constexpr bool is_positive() const { return raw_ > 0; }
    constexpr bool is_integer() const { return raw_ % unit == 0; }
    constexpr int signum() const { return (raw_ > 0) - (raw_ < 0); }
    constexpr decimal abs() const { return raw_ < 0 ? from_raw(-raw_) : *this; }

    // Rounds to `places` fraction digits, half away from zero.
    decimal round(int places) const;

    static std::optional<decimal> add(decimal a, decimal b);
    static std::optional<decimal> sub(decimal a, decimal b);
    static std::optional<decimal> mul(decimal a, decimal b);
    static std::optional<decimal> div(decimal a, decimal b); // nullopt also for b == 0

    friend decimal operator+(decimal a, decimal b);
    friend decimal operator-(decimal a, decimal b);
    friend decimal operator-(decimal a);
    decimal& operator+=(decimal b) { return *this = *this + b; }
    decimal& operator-=(decimal b) { return *this = *this - b; }

    friend constexpr bool operator==(decimal a, decimal b) = default;
    friend constexpr std::strong_ordering operator<=>(decimal a, decimal b) { return a.raw_ <=> b.raw_; }

    static constexpr decimal min(decimal a, decimal b) { return b < a ? b : a; }
    static constexpr decimal max(decimal a, decimal b) { return a < b ? b : a; }

    // Shortest exact text: "-12.5", "0", "100" (no exponent, no trailing zeros).
    std::string to_string() const;
    // Appends to_string() to `out` without a temporary.
    void append_to(std::string& out) const;
    // The longest to_string(): a sign, 39 digits (30 integer, 9 fraction)
    // and the point.
    static constexpr std::size_t text_bytes_max = 41;
    // Writes to_string() at `out`, which has room for text_bytes_max chars,
    // and returns the end: for encoders that size their buffer once.
    char* write_to(char* out) const;
    // Whole units, for values known to be integers (asserts otherwise).
    std::int64_t to_units() const;

private:
    raw_type raw_ = 0;
};

} // namespace posd

#include "base/decimal.h"

#include "base/limits.h"
#include "base/vassert.h"

#include <array>

namespace posd {
namespace {

using raw_t = decimal::raw_type;
constexpr raw_t INT128_MAX_VALUE = static_cast<raw_t>(~uint128_t{0} >> 1);
constexpr raw_t INT128_MIN_VALUE = -INT128_MAX_VALUE - 1;

constexpr raw_t pow10(int n) {
    raw_t r = 1;
    for (int i = 0; i < n; ++i) r *= 10;
    return r;
}

// Divides with rounding half away from zero.
raw_t div_round(raw_t num, raw_t den) {
    raw_t q = num / den;
    raw_t r = num % den;
    raw_t twice = (r < 0 ? -r : r) * 2;
    raw_t aden = den < 0 ? -den : den;
    if (twice >= aden) q += ((num < 0) != (den < 0)) ? -1 : 1;
    return q;
}

// Most values fit 64 bits: format those with 64-bit division, which is
// several times cheaper than 128-bit division per digit.
std::string_view format_digits64(std::int64_t v, std::array<char, 48>& buf) {
    bool neg = v < 0;
    std::uint64_t n = neg ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    constexpr std::uint64_t unit64 = 1'000'000'000;
    std::uint64_t frac_part = n % unit64;
    std::uint64_t int_part = n / unit64;
    std::size_t pos = buf.size();
    if (frac_part != 0) {
        int places = decimal::scale;
        while (frac_part % 10 == 0) { frac_part /= 10; --places; }
        for (int i = 0; i < places; ++i) {
            buf[--pos] = static_cast<char>('0' + frac_part % 10);
            frac_part /= 10;
        }
        buf[--pos] = '.';
    }
    do {
        buf[--pos] = static_cast<char>('0' + int_part % 10);
        int_part /= 10;
    } while (int_part != 0);
    if (neg) buf[--pos] = '-';
    return {buf.data() + pos, buf.size() - pos};
}

std::string_view format_digits(raw_t v, std::array<char, 48>& buf) {
    if (v >= INT64_MIN && v <= INT64_MAX) return format_digits64(static_cast<std::int64_t>(v), buf);
    bool neg = v < 0;
    // Work with the negative magnitude so that the minimum value is safe.
    raw_t n = neg ? v : -v;
    std::size_t pos = buf.size();
    raw_t frac_part = -(n % decimal::unit);
    raw_t int_part = -(n / decimal::unit);
    if (frac_part != 0) {
        int places = decimal::scale;
        while (frac_part % 10 == 0) { frac_part /= 10; --places; }
        for (int i = 0; i < places; ++i) {
            buf[--pos] = static_cast<char>('0' + static_cast<int>(frac_part % 10));
            frac_part /= 10;
        }
        buf[--pos] = '.';
    }
    do {
        buf[--pos] = static_cast<char>('0' + static_cast<int>(int_part % 10));
        int_part /= 10;
    } while (int_part != 0);
    if (neg) buf[--pos] = '-';
    return {buf.data() + pos, buf.size() - pos};
}

} // namespace

decimal decimal::from_scaled(std::int64_t mantissa, int fraction_digits) {
    vassert(fraction_digits >= 0 && fraction_digits <= scale, "fraction digits {}", fraction_digits);
    return from_raw(raw_t{mantissa} * pow10(scale - fraction_digits));
}

namespace {
// The literals records usually carry: [-]digits[.digits] with at most 18
// digits in all and 9 after the point fit an int64 mantissa exactly. Returns
// false for anything else, which the general parser then handles.
bool parse_simple(std::string_view s, decimal& out) {
    static constexpr std::int64_t scale_up[] = {1'000'000'000, 100'000'000, 10'000'000, 1'000'000, 100'000,
                                                10'000,        1'000,       100,        10,        1};
    std::size_t i = 0;
    const std::size_t n = s.size();
    const bool negative = n > 0 && s[0] == '-';
    if (negative) ++i;
    std::int64_t mantissa = 0;
    int digits = 0, fraction_digits = 0;
    const std::size_t integer_start = i;
    while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 18) {
        mantissa = mantissa * 10 + (s[i++] - '0');
        ++digits;
    }
    if (i == integer_start) return false;
    if (i < n && s[i] == '.') {
        const std::size_t fraction_start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 18 && fraction_digits < decimal::scale) {
            mantissa = mantissa * 10 + (s[i++] - '0');
            ++digits;
            ++fraction_digits;
        }
        if (i == fraction_start) return false;
    }
    if (i != n) return false;
    const raw_t raw = raw_t{mantissa} * scale_up[fraction_digits];
    out = decimal::from_raw(negative ? -raw : raw);
    return true;
}
} // namespace

decimal::parse_error decimal::parse(std::string_view s, decimal& out) {
    if (parse_simple(s, out)) return parse_error::none;
    std::size_t i = 0;
    bool neg = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) { neg = s[i] == '-'; ++i; }
    // Collect significant digits into a mantissa with a base-10 exponent.
    raw_t mant = 0;
    int mant_digits = 0;   // significant digits held in mant (leading zeros skipped)
    int exp10 = 0;         // value = mant * 10^exp10
    bool any_digit = false;
    bool dropped_nonzero = false;
    auto take = [&](char c, bool fraction) {
        any_digit = true;
        int d = c - '0';
        if (mant_digits == 0 && d == 0) {
            if (fraction) --exp10;
            return;
        }
        if (mant_digits < 36) {
            mant = mant * 10 + d;
            ++mant_digits;
            if (fraction) --exp10;
        } else {
            // Beyond 36 significant digits the value is out of any range we accept.
            if (!fraction) ++exp10;
            if (d != 0) dropped_nonzero = true;
        }
    };
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') take(s[i++], false);
    if (!any_digit) return parse_error::malformed; // ".5" is not a number
    if (i < s.size() && s[i] == '.') {
        ++i;
        bool frac_digit = false;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') { take(s[i++], true); frac_digit = true; }
        if (!frac_digit) return parse_error::malformed;
    }
    if (!any_digit) return parse_error::malformed;
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        bool eneg = false;
        if (i < s.size() && (s[i] == '-' || s[i] == '+')) { eneg = s[i] == '-'; ++i; }
        int e = 0;
        bool edigit = false;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (e < 10000) e = e * 10 + (s[i] - '0');
            ++i;
            edigit = true;
        }
        if (!edigit) return parse_error::malformed;
        exp10 += eneg ? -e : e;
    }
    if (i != s.size()) return parse_error::malformed;
    if (dropped_nonzero) return parse_error::out_of_range;
    if (mant == 0) { out = decimal{}; return parse_error::none; }
    // Trailing zeros of the mantissa do not count as precision.
    while (mant % 10 == 0) { mant /= 10; ++exp10; }
    if (exp10 < -scale) return parse_error::too_precise;
    int digits = 0;
    for (raw_t m = mant; m != 0; m /= 10) ++digits;
    int integer_digits = digits + exp10;
    if (integer_digits > limits::decimal_integer_digits_max) return parse_error::out_of_range;
    raw_t raw = mant * pow10(exp10 + scale);
    out = from_raw(neg ? -raw : raw);
    return parse_error::none;
}

bool decimal::parse_canonical(std::string_view text, decimal& out) {
    std::size_t i = 0;
    const bool negative = !text.empty() && text[0] == '-';
    if (negative) ++i;
    // Accumulate the negated value so that the minimum is representable.
    raw_t acc = 0;
    auto push_digit = [&acc](char c) {
        return !__builtin_mul_overflow(acc, 10, &acc) && !__builtin_sub_overflow(acc, c - '0', &acc);
    };
    const std::size_t integer_begin = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9')
        if (!push_digit(text[i++])) return false;
    if (i == integer_begin) return false;
    int fraction_digits = 0;
    if (i < text.size() && text[i] == '.') {
        ++i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            if (++fraction_digits > scale || !push_digit(text[i])) return false;
            ++i;
        }
        if (fraction_digits == 0) return false;
    }
    if (i != text.size()) return false;
    for (; fraction_digits < scale; ++fraction_digits)
        if (__builtin_mul_overflow(acc, 10, &acc)) return false;
    if (!negative && __builtin_sub_overflow(raw_t{0}, acc, &acc)) return false;
    out = from_raw(acc);
    return true;
}

std::optional<decimal> decimal::parse(std::string_view text) {
    decimal d;
    if (parse(text, d) != parse_error::none) return std::nullopt;
    return d;
}

decimal decimal::round(int places) const {
    vassert(places >= 0 && places <= scale, "places {}", places);
    if (places == scale) return *this;
    raw_t step = pow10(scale - places);
    return from_raw(div_round(raw_, step) * step);
}

std::optional<decimal> decimal::add(decimal a, decimal b) {
    raw_t r;
    if (__builtin_add_overflow(a.raw_, b.raw_, &r)) return std::nullopt;
    return from_raw(r);
}

std::optional<decimal> decimal::sub(decimal a, decimal b) {
    raw_t r;
    if (__builtin_sub_overflow(a.raw_, b.raw_, &r)) return std::nullopt;
    return from_raw(r);
}

std::optional<decimal> decimal::mul(decimal a, decimal b) {
    // |a|*|b|/unit without a 256-bit intermediate: split each magnitude into
    // whole units (q) and fraction (r), so that
    //   a*b/unit = aq*bq*unit + aq*br + ar*bq + ar*br/unit
    // where only the last term is fractional. All terms are non-negative, so
    // rounding that term half up rounds the whole half away from zero. Any
    // result that fits is computed exactly; only a result that does not fit
    // overflows.
    if (a.raw_ == INT128_MIN_VALUE || b.raw_ == INT128_MIN_VALUE) return std::nullopt;
    bool neg = (a.raw_ < 0) != (b.raw_ < 0);
    uint128_t x = static_cast<uint128_t>(a.raw_ < 0 ? -a.raw_ : a.raw_);
    uint128_t y = static_cast<uint128_t>(b.raw_ < 0 ? -b.raw_ : b.raw_);
    const uint128_t u = static_cast<uint128_t>(unit);
    uint128_t xq = x / u, xr = x % u, yq = y / u, yr = y % u;
    uint128_t t1, t2, t3, sum;
    if (__builtin_mul_overflow(xq, yq, &t1) || __builtin_mul_overflow(t1, u, &t1)) return std::nullopt;
    if (__builtin_mul_overflow(xq, yr, &t2) || __builtin_mul_overflow(xr, yq, &t3)) return std::nullopt;
    uint128_t t4 = xr * yr; // < 10^18
    uint128_t t4q = t4 / u + (t4 % u * 2 >= u ? 1 : 0);
    if (__builtin_add_overflow(t1, t2, &sum) || __builtin_add_overflow(sum, t3, &sum) ||
        __builtin_add_overflow(sum, t4q, &sum))
        return std::nullopt;
    if (sum > static_cast<uint128_t>(INT128_MAX_VALUE)) return std::nullopt;
    raw_t r = static_cast<raw_t>(sum);
    return from_raw(neg ? -r : r);
}

std::optional<decimal> decimal::div(decimal a, decimal b) {
    if (b.raw_ == 0) return std::nullopt;
    if (a.raw_ == INT128_MIN_VALUE || b.raw_ == INT128_MIN_VALUE) return std::nullopt;
    bool neg = (a.raw_ < 0) != (b.raw_ < 0);
    uint128_t x = static_cast<uint128_t>(a.raw_ < 0 ? -a.raw_ : a.raw_);
    uint128_t y = static_cast<uint128_t>(b.raw_ < 0 ? -b.raw_ : b.raw_);
    // Long division: whole part, then nine fraction digits one at a time, so
    // no intermediate exceeds 10 * y; then round half away from zero.
    uint128_t q = x / y, r = x % y;
    uint128_t result;
    if (__builtin_mul_overflow(q, static_cast<uint128_t>(unit), &result)) return std::nullopt;
    uint128_t frac = 0;
    for (int i = 0; i < scale; ++i) {
        r *= 10;
        frac = frac * 10 + r / y;
        r %= y;
    }
    if (r >= y - r) ++frac; // r*2 >= y without overflow
    if (__builtin_add_overflow(result, frac, &result)) return std::nullopt;
    if (result > static_cast<uint128_t>(INT128_MAX_VALUE)) return std::nullopt;
    raw_t v = static_cast<raw_t>(result);
    return from_raw(neg ? -v : v);
}

decimal operator+(decimal a, decimal b) {
    auto r = decimal::add(a, b);
    vassert(r.has_value(), "decimal overflow: {} + {}", a.to_string(), b.to_string());
    return *r;
}

decimal operator-(decimal a, decimal b) {
    auto r = decimal::sub(a, b);
    vassert(r.has_value(), "decimal overflow: {} - {}", a.to_string(), b.to_string());
    return *r;
}

decimal operator-(decimal a) { return decimal{} - a; }

std::string decimal::to_string() const {
    std::array<char, 48> buf;
    return std::string(format_digits(raw_, buf));
}

void decimal::append_to(std::string& out) const {
    std::array<char, 48> buf;
    out.append(format_digits(raw_, buf));
}

std::int64_t decimal::to_units() const {
    vassert(raw_ % unit == 0, "not an integer: {}", to_string());
    raw_t u = raw_ / unit;
    vassert(u >= INT64_MIN && u <= INT64_MAX, "units out of range: {}", to_string());
    return static_cast<std::int64_t>(u);
}

} // namespace posd

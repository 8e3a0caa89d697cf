#include "base/decimal.h"

#include "base/limits.h"
#include "base/vassert.h"

#include "digits.h"

#include <array>
#include <bit>
#include <cstring>

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

constexpr std::uint64_t unit64 = 1'000'000'000;

static_assert(std::endian::native == std::endian::little, "digits are assembled in a word, first digit lowest");

// Writes the whole part without leading zeros. Whole parts below 10^8
// (nearly all) are formatted in a register and stored as one word, which
// may write up to 8 chars however short the number: the caller has
// text_bytes_max chars of room.
char* write_whole(char* p, std::uint64_t whole) {
    if (whole >= 100'000'000) return detail::write_unsigned(p, whole);
    if (whole == 0) {
        *p = '0';
        return p + 1;
    }
    const std::uint64_t digits = detail::eight_digits(static_cast<std::uint32_t>(whole));
    // Leading zero digits are the low zero bytes; shift them out.
    const int leading_zeros = __builtin_ctzll(digits) / 8;
    const std::uint64_t text = (digits + detail::ascii_zeros) >> (8 * leading_zeros);
    std::memcpy(p, &text, 8);
    return p + 8 - leading_zeros;
}

// Writes a point and the nine digits of a non-zero fraction (0 < fraction
// < 10^9) without their trailing zeros.
char* write_fraction(char* p, std::uint32_t fraction) {
    p[0] = '.';
    if (fraction % 10'000'000 == 0) {
        // At most two fraction digits, as money amounts and most prices
        // have: one table lookup.
        const std::uint32_t cents = fraction / 10'000'000;
        detail::write_2_digits(p + 1, cents);
        return p + (cents % 10 == 0 ? 2 : 3);
    }
    p[1] = static_cast<char>('0' + fraction / 100'000'000);
    const std::uint64_t last8 = detail::eight_digits(fraction % 100'000'000);
    const std::uint64_t text = last8 + detail::ascii_zeros;
    std::memcpy(p + 2, &text, 8);
    // Trailing zero digits are the high zero bytes. Not all nine digits are
    // zero, and the first one is kept anyway.
    const int trailing_zeros = last8 == 0 ? 8 : __builtin_clzll(last8) / 8;
    return p + 10 - trailing_zeros;
}

// Writes v (< 10^19) as exactly 19 digits.
char* write_19_digits(char* p, std::uint64_t v) {
    for (int i = 18; i >= 0; --i) {
        p[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
    return p + 19;
}

// decimal::write_to for values beyond 64 bits (derived sums only), kept out
// of line so that the common path needs no stack frame.
[[gnu::noinline]] char* write_wide(raw_t raw, char* p) {
    // The magnitude as unsigned, so that the minimum value is safe.
    uint128_t magnitude = static_cast<uint128_t>(raw);
    if (raw < 0) {
        *p++ = '-';
        magnitude = 0 - magnitude;
    }
    const uint128_t whole = magnitude / unit64;
    const auto fraction = static_cast<std::uint32_t>(magnitude % unit64);
    if (whole >> 64 == 0) {
        p = write_whole(p, static_cast<std::uint64_t>(whole));
    } else {
        // whole < 2^127 / 10^9 < 10^30: its leading digits (whole / 10^19
        // < 10^11), then 19 more.
        constexpr std::uint64_t e19 = 10'000'000'000'000'000'000ULL;
        p = detail::write_unsigned(p, static_cast<std::uint64_t>(whole / e19));
        p = write_19_digits(p, static_cast<std::uint64_t>(whole % e19));
    }
    return fraction == 0 ? p : write_fraction(p, fraction);
}

} // namespace

decimal decimal::from_scaled(std::int64_t mantissa, int fraction_digits) {
    vassert(fraction_digits >= 0 && fraction_digits <= scale, "fraction digits {}", fraction_digits);
    return from_raw(raw_t{mantissa} * pow10(scale - fraction_digits));
}

namespace {
// The value of a digit character; any other byte gives a value above 9.
constexpr unsigned digit_value(char c) { return static_cast<unsigned>(static_cast<unsigned char>(c)) - unsigned{'0'}; }

// The literals records usually carry: [-]digits[.digits] with at most 18
// digits in all and 9 after the point fit an int64 mantissa exactly. Returns
// false for anything else, which the general parser then handles. Every
// input record carries two to four decimals, so the length is checked once
// up front instead of counting digits in the loops.
bool parse_simple(std::string_view s, decimal& out) {
    static constexpr std::int64_t scale_up[] = {1'000'000'000, 100'000'000, 10'000'000, 1'000'000, 100'000,
                                                10'000,        1'000,       100,        10,        1};
    const char* p = s.data();
    const char* const end = p + s.size();
    const bool negative = p != end && *p == '-';
    if (negative) ++p;
    // 18 digits and a point at most (a point-less 19 digits is refused below).
    if (p == end || end - p > 19) return false;
    const char* const integer_start = p;
    // Unsigned: 19 digits (refused below, after the loop) fit, and do not
    // overflow on the way (a signed overflow is undefined behaviour).
    std::uint64_t mantissa = 0;
    for (; p != end; ++p) {
        const unsigned d = digit_value(*p);
        if (d > 9) break;
        mantissa = mantissa * 10 + d;
    }
    if (p == integer_start) return false;
    std::ptrdiff_t fraction_digits = 0;
    if (p != end) {
        if (*p != '.') return false;
        const char* const fraction_start = ++p;
        for (; p != end; ++p) {
            const unsigned d = digit_value(*p);
            if (d > 9) return false;
            mantissa = mantissa * 10 + d;
        }
        fraction_digits = end - fraction_start;
        if (fraction_digits == 0 || fraction_digits > decimal::scale) return false;
    } else if (end - integer_start > 18) {
        return false;
    }
    const raw_t raw = static_cast<raw_t>(mantissa) * scale_up[fraction_digits];
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
    if (raw_ >= INT64_MIN && raw_ <= INT64_MAX) {
        // Nearly every value fits 64 bits: the same division and rounding
        // without a 128-bit division (a library call).
        const auto v = static_cast<std::int64_t>(raw_);
        const auto s = static_cast<std::int64_t>(step);
        std::int64_t q = v / s;
        const std::int64_t r = v % s;
        // |r| < s <= 10^9: twice it fits.
        if ((r < 0 ? -r : r) * 2 >= s) q += v < 0 ? -1 : 1;
        return from_raw(raw_t{q} * step);
    }
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
    if ((x >> 64) == 0 && (y >> 64) == 0) {
        // Both magnitudes fit 64 bits (nearly every value): the same terms
        // with 64-bit divisions by the constant, none of which can overflow
        // (xq, yq < 2^35, xr, yr < 2^30, so the sum stays below 2^100).
        const auto x64 = static_cast<std::uint64_t>(x), y64 = static_cast<std::uint64_t>(y);
        const std::uint64_t xq64 = x64 / unit64, xr64 = x64 % unit64, yq64 = y64 / unit64, yr64 = y64 % unit64;
        const std::uint64_t t4 = xr64 * yr64; // < 10^18
        const std::uint64_t t4q = t4 / unit64 + (t4 % unit64 * 2 >= unit64 ? 1 : 0);
        const uint128_t sum = uint128_t{xq64} * yq64 * u + uint128_t{xq64} * yr64 + uint128_t{xr64} * yq64 + t4q;
        const raw_t r = static_cast<raw_t>(sum);
        return from_raw(neg ? -r : r);
    }
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
    if ((x >> 64) == 0 && (y >> 59) == 0) {
        // The same steps in 64 bits (10 * y < 2^63; frac < 10^10).
        const auto x64 = static_cast<std::uint64_t>(x), y64 = static_cast<std::uint64_t>(y);
        std::uint64_t q64 = x64 / y64, r64 = x64 % y64, frac64 = 0;
        for (int i = 0; i < scale; ++i) {
            r64 *= 10;
            frac64 = frac64 * 10 + r64 / y64;
            r64 %= y64;
        }
        if (r64 >= y64 - r64) ++frac64;
        // q64 < 2^64: times 10^9 plus frac stays below 2^94.
        const raw_t v = static_cast<raw_t>(uint128_t{q64} * unit64 + frac64);
        return from_raw(neg ? -v : v);
    }
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

char* decimal::write_to(char* out) const {
    // Zero is the most common value in output events (untouched balances
    // and quantities).
    if (raw_ == 0) {
        *out = '0';
        return out + 1;
    }
    if (raw_ < INT64_MIN || raw_ > INT64_MAX) [[unlikely]]
        return write_wide(raw_, out);
    // Nearly every value: one 64-bit division pair (a multiplication by the
    // constant's inverse) instead of a 128-bit division per digit.
    const auto v = static_cast<std::int64_t>(raw_);
    char* p = out;
    if (v < 0) *p++ = '-';
    // Through unsigned, so that INT64_MIN is safe.
    const std::uint64_t magnitude = v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v);
    p = write_whole(p, magnitude / unit64);
    const auto fraction = static_cast<std::uint32_t>(magnitude % unit64);
    return fraction == 0 ? p : write_fraction(p, fraction);
}

std::string decimal::to_string() const {
    std::array<char, text_bytes_max> buf;
    return std::string(buf.data(), write_to(buf.data()));
}

void decimal::append_to(std::string& out) const {
    std::array<char, text_bytes_max> buf;
    out.append(buf.data(), write_to(buf.data()));
}

std::int64_t decimal::to_units() const {
    vassert(raw_ % unit == 0, "not an integer: {}", to_string());
    raw_t u = raw_ / unit;
    vassert(u >= INT64_MIN && u <= INT64_MAX, "units out of range: {}", to_string());
    return static_cast<std::int64_t>(u);
}

} // namespace posd

#include "base/decimal.h"

#include <catch2/catch.hpp>

#include <random>
#include <string>

using posd::decimal;

static decimal d(const char* s) {
    auto v = decimal::parse(s);
    REQUIRE(v.has_value());
    return *v;
}

TEST_CASE("decimal parses plain, signed, fractional and exponent forms") {
    CHECK(d("0").raw() == 0);
    CHECK(d("12.5").to_string() == "12.5");
    CHECK(d("-0.000000001").to_string() == "-0.000000001");
    CHECK(d("+100").to_string() == "100");
    CHECK(d("1.50000000000").to_string() == "1.5"); // trailing zeros are not precision
    CHECK(d("1e3").to_string() == "1000");
    CHECK(d("1.25E-2").to_string() == "0.0125");
    CHECK(d("999999999999999999").to_string() == "999999999999999999");
    CHECK(d("-0").is_zero());
}

TEST_CASE("decimal rejects malformed, too precise and out-of-range text") {
    decimal out;
    using pe = decimal::parse_error;
    CHECK(decimal::parse("", out) == pe::malformed);
    CHECK(decimal::parse("-", out) == pe::malformed);
    CHECK(decimal::parse("1.", out) == pe::malformed);
    CHECK(decimal::parse(".5", out) == pe::malformed);
    CHECK(decimal::parse("1e", out) == pe::malformed);
    CHECK(decimal::parse("12a", out) == pe::malformed);
    CHECK(decimal::parse("1 ", out) == pe::malformed);
    CHECK(decimal::parse("0x10", out) == pe::malformed);
    CHECK(decimal::parse("0.0000000001", out) == pe::too_precise);
    CHECK(decimal::parse("1e-10", out) == pe::too_precise);
    CHECK(decimal::parse("1000000000000000000", out) == pe::out_of_range); // 19 integer digits
    CHECK(decimal::parse("1e18", out) == pe::out_of_range);
    CHECK(decimal::parse("1e99999", out) == pe::out_of_range);
    CHECK(decimal::parse(std::string(400, '9'), out) == pe::out_of_range);
}

TEST_CASE("decimal arithmetic is exact and rounds half away from zero") {
    CHECK((d("0.1") + d("0.2")) == d("0.3"));
    CHECK((d("1") - d("1.000000001")).to_string() == "-0.000000001");
    CHECK(decimal::mul(d("12.34"), d("100"))->to_string() == "1234");
    CHECK(decimal::mul(d("0.000000001"), d("0.5"))->to_string() == "0.000000001");   // 0.0000000005 -> up
    CHECK(decimal::mul(d("-0.000000001"), d("0.5"))->to_string() == "-0.000000001"); // away from zero
    CHECK(decimal::mul(d("0.000000001"), d("0.4"))->is_zero());
    CHECK(decimal::div(d("1"), d("3"))->to_string() == "0.333333333");
    CHECK(decimal::div(d("2"), d("3"))->to_string() == "0.666666667");
    CHECK(decimal::div(d("-2"), d("3"))->to_string() == "-0.666666667");
    CHECK_FALSE(decimal::div(d("1"), d("0")).has_value());
    CHECK(decimal::div(d("100000000000000000"), d("300000000000000000"))->to_string() == "0.333333333");
    CHECK(decimal::div(d("0.000000005"), d("0.00000001"))->to_string() == "0.5");
    CHECK(decimal::div(d("1"), d("0.000000003"))->to_string() == "333333333.333333333");
    CHECK(decimal::div(d("0.000000001"), d("2"))->to_string() == "0.000000001");
    CHECK(d("2.5").round(0) == d("3"));
    CHECK(d("-2.5").round(0) == d("-3"));
    CHECK(d("2.49").round(0) == d("2"));
    CHECK(d("1.005").round(2) == d("1.01"));
    CHECK(d("-1.005").round(2) == d("-1.01"));
    CHECK(d("1.004999999").round(2) == d("1"));
}

TEST_CASE("decimal overflow is detected, never wrapped") {
    decimal big = decimal::from_raw(static_cast<decimal::raw_type>(~posd::uint128_t{0} >> 1));
    CHECK_FALSE(decimal::add(big, d("0.000000001")).has_value());
    CHECK_FALSE(decimal::sub(-big, d("1")).has_value());
    CHECK_FALSE(decimal::mul(d("999999999999999999"), d("999999999999999999")).has_value());
    CHECK(decimal::mul(d("99999999"), d("1000000000000")).has_value()); // price max x quantity max
    // Results that fit are exact even when the raw product would not fit.
    CHECK(decimal::mul(d("100000000000000000"), d("1000000000"))->to_string() == "100000000000000000000000000");
    CHECK(decimal::mul(d("-123456789012.123456789"), d("1000.5"))->to_string() == "-123518517406629.518517395");
    CHECK(decimal::mul(d("-0.5"), d("-0.000000003"))->to_string() == "0.000000002");
    CHECK_FALSE(decimal::mul(d("100000000000000000"), d("100000000000000000")).has_value());
}

TEST_CASE("decimal formats without exponent or trailing zeros") {
    CHECK(decimal::from_units(-42).to_string() == "-42");
    CHECK(decimal::from_scaled(-5, 1).to_string() == "-0.5");
    CHECK(decimal::from_scaled(123456789, 9).to_string() == "0.123456789");
    std::string s = "x=";
    d("-7.25").append_to(s);
    CHECK(s == "x=-7.25");
    CHECK(d("5").to_units() == 5);
    CHECK(d("5").is_integer());
    CHECK_FALSE(d("5.1").is_integer());
}

TEST_CASE("parse_canonical is the exact inverse of to_string over the whole range") {
    const decimal max = decimal::from_raw(static_cast<decimal::raw_type>(~posd::uint128_t{0} >> 1));
    for (decimal v : {max, -max, decimal::from_raw(-max.raw() - 1), d("0"), d("-0.000000001"), d("123.45")}) {
        decimal back;
        REQUIRE(decimal::parse_canonical(v.to_string(), back));
        CHECK(back == v);
    }
    decimal out;
    CHECK_FALSE(decimal::parse_canonical("", out));
    CHECK_FALSE(decimal::parse_canonical("1e3", out));
    CHECK_FALSE(decimal::parse_canonical("0.0000000001", out));
    CHECK_FALSE(decimal::parse_canonical("1" + std::string(40, '0'), out));
    CHECK_FALSE(decimal::parse_canonical("+1", out));
}

TEST_CASE("the fast and general parse paths agree") {
    // 18 digits take the fast path, 19 the general one.
    CHECK(d("123456789.123456789").raw() == d("1234567891.23456789e-1").raw());
    CHECK(d("-999999999999999999").to_string() == "-999999999999999999");
    CHECK(d("0.000000001") == d("1e-9"));
    CHECK(d("100.100000000") == d("100.1"));
    decimal out;
    CHECK(decimal::parse("0.1234567891", out) == decimal::parse_error::too_precise);
    CHECK(decimal::parse("1234567890123456789", out) == decimal::parse_error::out_of_range);
}

TEST_CASE("the fast path's limits: 18 digits, 9 after the point") {
    decimal out;
    using pe = decimal::parse_error;
    // An exponent of zero sends the same literal down the general path.
    auto same_both_ways = [](const std::string& text) {
        decimal fast, general;
        const auto a = decimal::parse(text, fast);
        const auto b = decimal::parse(text + "e0", general);
        INFO(text);
        CHECK(a == b);
        if (a == pe::none && b == pe::none) CHECK(fast == general);
    };
    for (const char* text : {"0", "-0", "7", "-7", "0.5", "123456789012345678", "-123456789012345678",
                             "999999999.999999999", "-999999999.999999999", "12345678901234567.8",
                             "1.234567891", "000000000000000001", "1234567890123456789", "12345678901234567.89",
                             "0.0000000001", "1.1234567890", "00000000000000000000.5", "1.", "-", "-.5", "1..5",
                             "--1", "1-", "+1", "1.5.5", "01", "00.10"})
        same_both_ways(text);
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000; ++i) {
        std::string text = rng() % 4 == 0 ? "-" : "";
        const std::size_t integer = rng() % 21, fraction = rng() % 12;
        for (std::size_t j = 0; j < integer; ++j) text += static_cast<char>('0' + rng() % 10);
        if (rng() % 3 != 0) {
            text += '.';
            for (std::size_t j = 0; j < fraction; ++j) text += static_cast<char>('0' + rng() % 10);
        }
        same_both_ways(text);
    }
    CHECK(decimal::parse("999999999999999999", out) == pe::none);
    CHECK(out == decimal::from_units(999'999'999'999'999'999));
    CHECK(decimal::parse("-1.000000001", out) == pe::none);
    CHECK(out.raw() == -1'000'000'001);
}

// mul, div and round take a 64-bit path when the magnitudes fit 64 bits;
// both paths must give the exact, half-away-from-zero result. The
// reference here computes it directly in 128 bits, which holds for
// magnitudes below 2^64.
TEST_CASE("decimal mul, div and round agree with an exact 128-bit reference on both paths") {
    using posd::uint128_t;
    using raw = decimal::raw_type;
    const uint128_t unit = static_cast<uint128_t>(decimal::unit);
    std::mt19937_64 rng(20261203);
    auto magnitude = [&rng] {
        // Every size from one digit to just past 64 bits.
        const int bits = static_cast<int>(rng() % 66) + 1;
        uint128_t v = (static_cast<uint128_t>(rng()) << 64) | rng();
        return bits >= 128 ? v : v & ((uint128_t{1} << bits) - 1);
    };
    auto signed_of = [&rng](uint128_t m) { return rng() % 2 ? -static_cast<raw>(m) : static_cast<raw>(m); };
    for (int i = 0; i < 200000; ++i) {
        const uint128_t xm = magnitude(), ym = magnitude();
        const raw x = signed_of(xm), y = signed_of(ym);
        const bool neg = (x < 0) != (y < 0);
        const decimal a = decimal::from_raw(x), b = decimal::from_raw(y);
        if ((xm >> 64) == 0 && (ym >> 64) == 0) {
            const uint128_t p = xm * ym;
            const uint128_t q = p / unit + (p % unit * 2 >= unit ? 1 : 0);
            const raw want = neg ? -static_cast<raw>(q) : static_cast<raw>(q);
            auto got = decimal::mul(a, b);
            REQUIRE(got.has_value());
            CHECK(got->raw() == want);
        }
        if (ym != 0 && (xm >> 64) == 0) {
            const uint128_t n = xm * unit;
            uint128_t q = n / ym;
            const uint128_t r = n % ym;
            if (r >= ym - r) ++q;
            const raw want = neg ? -static_cast<raw>(q) : static_cast<raw>(q);
            auto got = decimal::div(a, b);
            REQUIRE(got.has_value());
            CHECK(got->raw() == want);
        }
        const int places = static_cast<int>(rng() % 10);
        raw step = 1;
        for (int k = places; k < decimal::scale; ++k) step *= 10;
        raw q = x / step;
        const raw r = x % step;
        if ((r < 0 ? -r : r) * 2 >= step) q += x < 0 ? -1 : 1;
        CHECK(a.round(places).raw() == q * step);
    }
}

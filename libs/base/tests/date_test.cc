#include "base/date.h"

#include <catch2/catch.hpp>

#include <string>

using posd::date;
using posd::timestamp;

TEST_CASE("date parses strictly and round-trips") {
    CHECK(date::parse("1970-01-01")->days() == 0);
    CHECK(date::parse("2026-11-20")->to_string() == "2026-11-20");
    CHECK(date::parse("2024-02-29").has_value());
    CHECK_FALSE(date::parse("2023-02-29").has_value());
    CHECK_FALSE(date::parse("2026-13-01").has_value());
    CHECK_FALSE(date::parse("2026-1-01").has_value());
    CHECK_FALSE(date::parse("2026/01/01").has_value());
    CHECK_FALSE(date::parse("20260101").has_value());
    CHECK_FALSE(date::parse("1899-12-31").has_value());
    for (int days = -25000; days < 40000; days += 97) {
        date d = date::from_days(days);
        if (d.year() < 1900 || d.year() > 2999) continue;
        CHECK(date::parse(d.to_string()) == d);
    }
}

TEST_CASE("weekdays and the next business day skip weekends") {
    date fri = *date::parse("2026-11-20");
    CHECK(fri.weekday() == 4);
    CHECK(fri.next_weekday().to_string() == "2026-11-23"); // Monday
    CHECK(date::parse("2026-11-21")->next_weekday().to_string() == "2026-11-23");
    CHECK(date::parse("2026-11-23")->next_weekday().to_string() == "2026-11-24");
}

TEST_CASE("timestamps parse RFC 3339 with offsets and fractions") {
    CHECK(timestamp::parse("1970-01-01T00:00:01Z")->ms == 1000);
    CHECK(timestamp::parse("1970-01-01T00:00:01.5Z")->ms == 1500);
    CHECK(timestamp::parse("1970-01-01T01:00:00+01:00")->ms == 0);
    CHECK(timestamp::parse("2026-11-20T14:30:00.123Z")->to_string() == "2026-11-20T14:30:00.123Z");
    CHECK(timestamp::parse("2026-11-20")->utc_date().to_string() == "2026-11-20");
    CHECK_FALSE(timestamp::parse("2026-11-20T25:00:00Z").has_value());
    CHECK_FALSE(timestamp::parse("2026-11-20T10:00:00").has_value());
    CHECK_FALSE(timestamp::parse("2026-11-20T10:00:00Zjunk").has_value());
    CHECK(timestamp{-1}.utc_date().to_string() == "1969-12-31");
}

TEST_CASE("date parsing agrees with the calendar on every day and every shape") {
    // Every day of 1900-2999, and the days either side, which do not parse.
    const date first = *date::from_ymd(1900, 1, 1);
    const date last = *date::from_ymd(2999, 12, 31);
    CHECK(first.plus_days(-1).to_string() == "1899-12-31");
    CHECK_FALSE(date::parse(first.plus_days(-1).to_string()).has_value());
    CHECK_FALSE(date::parse("3000-01-01").has_value());
    for (date d = first; d <= last; d = d.plus_days(1)) {
        date parsed = date::from_days(-1);
        REQUIRE(date::parse(d.to_string(), parsed));
        REQUIRE(parsed == d);
    }
    // Leap years: every fourth, but not centuries unless divisible by 400.
    for (const char* text : {"1904-02-29", "2000-02-29", "2024-02-29", "2400-02-29", "2996-02-29"})
        CHECK(date::parse(text).has_value());
    for (const char* text : {"1900-02-29", "2023-02-29", "2100-02-29", "2999-02-29", "2024-02-30", "2024-04-31",
                             "2024-01-32", "2024-01-00", "2024-00-10", "2024-13-10"})
        CHECK_FALSE(date::parse(text).has_value());
    // Each position holds only what it may: a digit, or the dash.
    const std::string good = "2024-03-04";
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (int c = 0; c < 256; ++c) {
            std::string text = good;
            text[i] = static_cast<char>(c);
            const bool digit = c >= '0' && c <= '9';
            const bool expected = i == 4 || i == 7 ? c == '-'
                                                   : digit && date::from_ymd(std::stoi(text.substr(0, 4)),
                                                                             std::stoi(text.substr(5, 2)),
                                                                             std::stoi(text.substr(8, 2)))
                                                                  .has_value();
            INFO(i << " " << c);
            CHECK(date::parse(text).has_value() == expected);
        }
    }
    // A failed parse leaves the output as it was.
    date out = date::from_days(42);
    CHECK_FALSE(date::parse("2024-02-30", out));
    CHECK_FALSE(date::parse("2024-03-04 ", out));
    CHECK(out.days() == 42);
}

TEST_CASE("timestamps in the producers' shape parse as in any other") {
    // "YYYY-MM-DDTHH:MM:SS.mmmZ" has a fast path; "+00:00" for "Z" takes the
    // general one.
    for (std::int64_t ms = -2'208'988'800'000; ms < 32'503'680'000'000; ms += 1'234'567'891'237) {
        const std::string text = timestamp{ms}.to_string();
        REQUIRE(text.size() == 24);
        INFO(text);
        timestamp parsed{-1};
        REQUIRE(timestamp::parse(text, parsed));
        CHECK(parsed.ms == ms);
        CHECK(timestamp::parse(text.substr(0, 23) + "+00:00")->ms == ms);
        CHECK(timestamp::parse(text.substr(0, 10) + "t" + text.substr(11, 12) + "z")->ms == ms);
        CHECK(timestamp::parse(text.substr(0, 10) + " " + text.substr(11))->ms == ms);
    }
    CHECK(timestamp::parse("2024-03-04T23:59:60.999Z")->ms == timestamp::parse("2024-03-05T00:00:00.999Z")->ms);
    for (const char* text : {"2024-03-04T24:00:00.000Z", "2024-03-04T23:60:00.000Z", "2024-03-04T23:59:61.000Z",
                             "2024-03-04T13:30:00.00aZ", "2024-03-04T13:30:00,000Z", "2024-03-04T13:30:00.000Y",
                             "2024-03-04X13:30:00.000Z", "2024-03-04T13-30:00.000Z", "2024-02-30T13:30:00.000Z",
                             "2024-03-04T1:30:00.0000Z", "1899-12-31T23:59:59.999Z"})
        CHECK_FALSE(timestamp::parse(text).has_value());
    timestamp out{42};
    CHECK_FALSE(timestamp::parse("2024-03-04T24:00:00.000Z", out));
    CHECK_FALSE(timestamp::parse("2024-03-04T12:00:00", out));
    CHECK(out.ms == 42);
}

TEST_CASE("one range of dates: parse_wide reads any calendar date and says whether it lies in the range") {
    CHECK(date::min_value() == *date::from_ymd(1900, 1, 1));
    CHECK(date::max_value() == *date::from_ymd(2999, 12, 31));
    CHECK(date::max_value().next_weekday().to_string() == "3000-01-01"); // a Wednesday, outside
    CHECK_FALSE(date::max_value().next_weekday().in_range());
    CHECK(timestamp{timestamp::ms_min}.to_string() == "1900-01-01T00:00:00.000Z");
    CHECK(timestamp{timestamp::ms_end - 1}.to_string() == "2999-12-31T23:59:59.999Z");

    date d;
    CHECK(date::parse_wide("2026-03-02", d) == date::parse_error::none);
    CHECK(d.to_string() == "2026-03-02");
    // Every date to_string() writes for years 0000-9999 reads back.
    for (const char* text : {"3000-01-01", "1899-12-31", "0000-01-01", "9999-12-31", "3200-02-29", "1600-02-29"}) {
        INFO(text);
        REQUIRE(date::parse_wide(text, d) == date::parse_error::out_of_range);
        CHECK(d.to_string() == text);
        CHECK_FALSE(d.in_range());
        CHECK_FALSE(date::parse(text).has_value());
    }
    for (const char* text : {"3000-02-29", "2100-02-29", "10000-01-01", "3000-13-01", "3000-1-01", "", "3000-01-00"}) {
        INFO(text);
        d = date::from_days(7);
        CHECK(date::parse_wide(text, d) == date::parse_error::malformed);
        CHECK(d.days() == 7);
    }

    timestamp t;
    CHECK(timestamp::parse_wide("3000-01-01T00:00:00.000Z", t) == date::parse_error::out_of_range);
    CHECK(t.to_string() == "3000-01-01T00:00:00.000Z");
    CHECK(timestamp::parse_wide("2999-12-31T23:30:00-01:00", t) == date::parse_error::out_of_range);
    CHECK(timestamp::parse_wide("1900-01-01T00:30:00+01:00", t) == date::parse_error::out_of_range);
    CHECK(timestamp::parse_wide("2999-12-31T23:59:59.999Z", t) == date::parse_error::none);
    CHECK(timestamp::parse_wide("0001-01-01", t) == date::parse_error::out_of_range);
    CHECK(timestamp::parse_wide("3000-01-01T24:00:00Z", t) == date::parse_error::malformed);
    CHECK_FALSE(timestamp::parse("3000-01-01T00:00:00.000Z").has_value());
}

#include "base/date.h"

#include <catch2/catch.hpp>

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

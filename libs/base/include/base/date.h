#pragma once
// date: a calendar day (proleptic Gregorian, UTC), held as days since
// 1970-01-01. Business dates, trade and settlement dates, expiries.
// timestamp: milliseconds since the Unix epoch, UTC.
// Value types, safe to copy between threads.
//
// The one range of dates posd holds is 1900-01-01 .. 2999-12-31
// (date::min_value() .. date::max_value(); for times, the instants whose UTC
// date lies in it). Every date and time posd accepts on input lies in it
// (else DATE_OUT_OF_RANGE), the engine computes none outside it, and parse()
// reads back every date of it that to_string() writes. parse_wide() reads any
// calendar date of years 0000-9999 and says whether it lies in the range: the
// decoders use it to tell an out-of-range date from a malformed one, and the
// state decoder to read back whatever an older posd stored.

#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace posd {

class date {
public:
    // Days since 1970-01-01 of 1900-01-01 and 2999-12-31.
    static constexpr std::int32_t days_min = -25'567;
    static constexpr std::int32_t days_max = 376'199;

    constexpr date() = default;
    static constexpr date min_value() { return from_days(days_min); }
    static constexpr date max_value() { return from_days(days_max); }
    constexpr bool in_range() const { return days_ >= days_min && days_ <= days_max; }

    enum class parse_error : std::uint8_t {
        none,         // a date of the range
        malformed,    // not a YYYY-MM-DD calendar date of years 0000-9999
        out_of_range, // a calendar date outside the range
    };

    static constexpr date from_days(std::int32_t days) { date d; d.days_ = days; return d; }
    static std::optional<date> from_ymd(int year, int month, int day);
    // Strict "YYYY-MM-DD", years 1900..2999.
    static std::optional<date> parse(std::string_view text);
    // The same, true with `out` set or false with `out` untouched: for the
    // decoders, which parse dates on every record (GCC returns an optional
    // through the stack, a stalled store-to-load forward per call).
    static bool parse(std::string_view text, date& out);
    // Strict "YYYY-MM-DD" of any year 0000-9999: `out` is set unless the
    // result is malformed, out-of-range dates included.
    static parse_error parse_wide(std::string_view text, date& out);

    constexpr std::int32_t days() const { return days_; }
    int year() const;
    int month() const;
    int day() const;
    // 0 = Monday .. 6 = Sunday (ISO order).
    int weekday() const;
    bool is_weekend() const { return weekday() >= 5; }
    date plus_days(std::int32_t n) const { return from_days(days_ + n); }
    // The first Monday..Friday strictly after this date.
    date next_weekday() const;

    std::string to_string() const;
    void append_to(std::string& out) const;
    // The length of to_string().
    static constexpr std::size_t text_bytes = 10;
    // Writes to_string() at `out` (text_bytes chars) and returns the end:
    // for encoders that size their buffer once.
    char* write_to(char* out) const;

    friend constexpr bool operator==(date, date) = default;
    friend constexpr std::strong_ordering operator<=>(date a, date b) { return a.days_ <=> b.days_; }

private:
    std::int32_t days_ = 0;
};

struct timestamp {
    std::int64_t ms = 0;
    // The first instant of the range and the first one after it.
    static constexpr std::int64_t ms_min = std::int64_t{date::days_min} * 86'400'000;
    static constexpr std::int64_t ms_end = (std::int64_t{date::days_max} + 1) * 86'400'000;
    constexpr bool in_range() const { return ms >= ms_min && ms < ms_end; }

    // RFC 3339 "YYYY-MM-DDTHH:MM:SS[.fff...](Z|+HH:MM|-HH:MM)" or a bare date.
    static std::optional<timestamp> parse(std::string_view text);
    // The same, true with `out` set or false with `out` untouched.
    static bool parse(std::string_view text, timestamp& out);
    // The same shapes with a date of any year 0000-9999: `out` is set unless
    // the result is malformed; out_of_range when the instant (after its UTC
    // offset) lies outside the range.
    static date::parse_error parse_wide(std::string_view text, timestamp& out);
    std::string to_string() const; // "YYYY-MM-DDTHH:MM:SS.mmmZ"
    void append_to(std::string& out) const;
    // The length of to_string().
    static constexpr std::size_t text_bytes = 24;
    // Writes to_string() at `out` (text_bytes chars) and returns the end.
    char* write_to(char* out) const;
    date utc_date() const;
    friend constexpr bool operator==(timestamp, timestamp) = default;
    friend constexpr auto operator<=>(timestamp, timestamp) = default;
};

} // namespace posd

#include "base/date.h"

#include "digits.h"

#include <array>

namespace posd {
namespace {

// Howard Hinnant's days_from_civil / civil_from_days.
constexpr std::int32_t days_from_civil(int y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<int>(doe) - 719468;
}

struct ymd { int y; unsigned m; unsigned d; };

constexpr ymd civil_from_days(std::int32_t z) {
    z += 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int y = static_cast<int>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

// Neri and Schneider's civil_from_days ("Euclidean affine functions and
// their application to calendar algorithms", 2022): the same calendar with
// 32-bit multiplications and shifts only, no signed division. It gives
// exactly civil_from_days's result for days in [fast_civil_days_min,
// fast_civil_days_max] (checked day by day over that whole range when it
// was written); outside it, 4 * n + 3 below would overflow. Dates are
// formatted for every output event.
constexpr std::int32_t fast_civil_days_min = -12'699'422;
constexpr std::int32_t fast_civil_days_max = (1 << 30) - 12'699'423;

constexpr ymd fast_civil_from_days(std::int32_t days) {
    // Shifts the epoch back by 82 periods of 400 years so that every day in
    // range is a non-negative count.
    constexpr std::uint32_t shift_years = 400 * 82;
    constexpr std::uint32_t shift_days = 719'468 + 146'097 * 82;
    const std::uint32_t n = static_cast<std::uint32_t>(days) + shift_days;
    // Century and day of the century.
    const std::uint32_t n1 = 4 * n + 3;
    const std::uint32_t century = n1 / 146'097;
    const std::uint32_t day_of_century = n1 % 146'097 / 4;
    // Year of the century and day of the year (from March 1).
    const std::uint32_t n2 = 4 * day_of_century + 3;
    const std::uint64_t p2 = std::uint64_t{2'939'745} * n2;
    const auto year_of_century = static_cast<std::uint32_t>(p2 >> 32);
    const std::uint32_t day_of_year = static_cast<std::uint32_t>(p2) / 2'939'745 / 4;
    // Month (March = 3 .. February = 14) and day.
    const std::uint32_t n3 = 2'141 * day_of_year + 197'913;
    const std::uint32_t month = n3 >> 16;
    const std::uint32_t day = (n3 & 0xffff) / 2'141;
    const bool january_or_february = day_of_year >= 306;
    const std::uint32_t year = 100 * century + year_of_century - shift_years + (january_or_february ? 1 : 0);
    return {static_cast<int>(year), january_or_february ? month - 12 : month, day + 1};
}

// Days from 1970-01-01 to January 1 of each year 1900..3000 (the last
// one gives 2999's length). Every input record carries dates: a lookup
// costs less than the calendar arithmetic, and tells leap years too.
constexpr auto year_starts = [] {
    std::array<std::int32_t, 3000 - 1900 + 1> starts{};
    for (int y = 1900; y <= 3000; ++y) starts[static_cast<std::size_t>(y - 1900)] = days_from_civil(y, 1, 1);
    return starts;
}();

// The value of a digit character; any other byte gives a value above 9.
constexpr unsigned digit_value(char c) { return static_cast<unsigned>(static_cast<unsigned char>(c)) - unsigned{'0'}; }

// Two digits at p as a number, or a value above 99.
constexpr unsigned two_digits(const char* p) {
    const unsigned a = digit_value(p[0]);
    const unsigned b = digit_value(p[1]);
    return a > 9 || b > 9 ? 100 : a * 10 + b;
}

bool digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
    if (pos + n > s.size()) return false;
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    out = v;
    return true;
}

// from_ymd's check and day count, inline here so that parsing gets them
// without a call. These helpers return a flag and the day count rather than
// a std::optional<date>: GCC assembled the optional's bytes on the stack
// and read them back whole, a stalled store-to-load forward on every date.
[[gnu::always_inline]] inline bool checked_ymd(int year, int month, int day, std::int32_t& days) {
    static constexpr std::int16_t days_before_month[] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
    static constexpr std::int8_t days_of_month[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (year < 1900 || year > 2999 || month < 1 || month > 12) return false;
    const auto y = static_cast<std::size_t>(year - 1900);
    const auto m = static_cast<std::size_t>(month - 1);
    const int leap = year_starts[y + 1] - year_starts[y] - 365; // 1 in a leap year
    if (day < 1 || day > days_of_month[m] + (month == 2 ? leap : 0)) return false;
    days = year_starts[y] + days_before_month[m] + (month > 2 ? leap : 0) + day - 1;
    return true;
}

// "YYYY-MM-DD" at p (10 readable chars). Every input record carries up to
// three dates and a time, so the digits are checked and read without a
// loop.
[[gnu::always_inline]] inline bool parse_ymd(const char* p, std::int32_t& days) {
    const unsigned y0 = digit_value(p[0]), y1 = digit_value(p[1]), y2 = digit_value(p[2]), y3 = digit_value(p[3]);
    const unsigned m0 = digit_value(p[5]), m1 = digit_value(p[6]), d0 = digit_value(p[8]), d1 = digit_value(p[9]);
    if (p[4] != '-' || p[7] != '-' || y0 > 9 || y1 > 9 || y2 > 9 || y3 > 9 || m0 > 9 || m1 > 9 || d0 > 9 || d1 > 9)
        return false;
    return checked_ymd(static_cast<int>(y0 * 1000 + y1 * 100 + y2 * 10 + y3), static_cast<int>(m0 * 10 + m1),
                       static_cast<int>(d0 * 10 + d1), days);
}

// "YYYY-MM-DD" at p (10 readable chars) of any year 0000-9999, with the
// general calendar: the slow path, for dates outside the year table.
bool parse_ymd_wide(const char* p, std::int32_t& days) {
    const std::string_view s(p, 10);
    int y = 0, m = 0, d = 0;
    if (s[4] != '-' || s[7] != '-' || !digits(s, 0, 4, y) || !digits(s, 5, 2, m) || !digits(s, 8, 2, d)) return false;
    if (m < 1 || m > 12 || d < 1) return false;
    static constexpr int days_of_month[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    if (d > days_of_month[m - 1] + (m == 2 && leap ? 1 : 0)) return false;
    days = days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
    return true;
}

} // namespace

std::optional<date> date::from_ymd(int year, int month, int day) {
    std::int32_t days = 0;
    if (!checked_ymd(year, month, day, days)) return std::nullopt;
    return from_days(days);
}

bool date::parse(std::string_view s, date& out) {
    std::int32_t days = 0;
    if (s.size() != 10 || !parse_ymd(s.data(), days)) return false;
    out = from_days(days);
    return true;
}

date::parse_error date::parse_wide(std::string_view s, date& out) {
    std::int32_t days = 0;
    if (s.size() != 10) return parse_error::malformed;
    if (parse_ymd(s.data(), days)) {
        out = from_days(days);
        return parse_error::none;
    }
    if (!parse_ymd_wide(s.data(), days)) return parse_error::malformed;
    out = from_days(days);
    return out.in_range() ? parse_error::none : parse_error::out_of_range;
}

std::optional<date> date::parse(std::string_view s) {
    date d;
    if (!parse(s, d)) return std::nullopt;
    return d;
}

int date::year() const { return civil_from_days(days_).y; }
int date::month() const { return static_cast<int>(civil_from_days(days_).m); }
int date::day() const { return static_cast<int>(civil_from_days(days_).d); }

int date::weekday() const {
    // 1970-01-01 was a Thursday (ISO index 3).
    int w = (days_ + 3) % 7;
    return w < 0 ? w + 7 : w;
}

date date::next_weekday() const {
    date d = plus_days(1);
    while (d.is_weekend()) d = d.plus_days(1);
    return d;
}

std::string date::to_string() const {
    std::string s;
    append_to(s);
    return s;
}

char* date::write_to(char* out) const {
    // Formatting is on the hot path of every event; fmt's format-string
    // parsing cost more than the rest of a date. The year is written as its
    // last four digits, whatever it is.
    const auto c = days_ >= fast_civil_days_min && days_ <= fast_civil_days_max ? fast_civil_from_days(days_)
                                                                                : civil_from_days(days_);
    const std::uint32_t year = static_cast<std::uint32_t>(c.y) % 10'000;
    detail::write_2_digits(out, year / 100);
    detail::write_2_digits(out + 2, year % 100);
    out[4] = '-';
    detail::write_2_digits(out + 5, c.m);
    out[7] = '-';
    detail::write_2_digits(out + 8, c.d);
    return out + text_bytes;
}

void date::append_to(std::string& out) const {
    char buf[text_bytes];
    out.append(buf, write_to(buf));
}

namespace {

// timestamp::parse and parse_wide: the same shapes; `wide` reads the date
// part with date::parse_wide instead of date::parse.
bool parse_time(std::string_view s, timestamp& out, bool wide) {
    // The shape producers write, "YYYY-MM-DDTHH:MM:SS.mmmZ", straight
    // through (it is on every input record); any other by the general
    // parser below, which gives the same result for this shape.
    if (s.size() == 24 && s[19] == '.' && (s[23] == 'Z' || s[23] == 'z') &&
        (s[10] == 'T' || s[10] == 't' || s[10] == ' ') && s[13] == ':' && s[16] == ':') {
        const char* p = s.data();
        std::int32_t days = 0;
        const unsigned hh = two_digits(p + 11), mm = two_digits(p + 14), ss = two_digits(p + 17);
        const unsigned f0 = digit_value(p[20]), f1 = digit_value(p[21]), f2 = digit_value(p[22]);
        if (hh > 23 || mm > 59 || ss > 60 || f0 > 9 || f1 > 9 || f2 > 9) return false;
        if (parse_ymd(p, days)) {
            out.ms = std::int64_t{days} * 86'400'000 +
                     std::int64_t{(hh * 3600 + mm * 60 + ss) * 1000 + f0 * 100 + f1 * 10 + f2};
            return true;
        }
        if (!wide) return false; // else a date outside the year table: the general parser below
    }
    date d;
    if (wide ? date::parse_wide(s.substr(0, 10), d) == date::parse_error::malformed : !date::parse(s.substr(0, 10), d))
        return false;
    std::int64_t ms = std::int64_t{d.days()} * 86'400'000;
    if (s.size() == 10) {
        out.ms = ms;
        return true;
    }
    int hh, mm, ss;
    if (s.size() < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        return false;
    if (!digits(s, 11, 2, hh) || !digits(s, 14, 2, mm) || !digits(s, 17, 2, ss)) return false;
    if (hh > 23 || mm > 59 || ss > 60) return false;
    ms += (std::int64_t{hh} * 3600 + mm * 60 + ss) * 1000;
    std::size_t i = 19;
    if (s[i] == '.') {
        ++i;
        int frac_ms = 0, n = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (n < 3) frac_ms = frac_ms * 10 + (s[i] - '0');
            ++n;
            ++i;
        }
        if (n == 0) return false;
        for (; n < 3; ++n) frac_ms *= 10;
        ms += frac_ms;
    }
    if (i >= s.size()) return false;
    if (s[i] == 'Z' || s[i] == 'z') {
        ++i;
    } else if (s[i] == '+' || s[i] == '-') {
        int oh, om;
        if (i + 6 != s.size() || s[i + 3] != ':' || !digits(s, i + 1, 2, oh) ||
            !digits(s, i + 4, 2, om) || oh > 23 || om > 59)
            return false;
        std::int64_t off = (std::int64_t{oh} * 60 + om) * 60'000;
        ms += s[i] == '+' ? -off : off;
        i += 6;
    } else {
        return false;
    }
    if (i != s.size()) return false;
    out.ms = ms;
    return true;
}

} // namespace

bool timestamp::parse(std::string_view s, timestamp& out) { return parse_time(s, out, /*wide=*/false); }

date::parse_error timestamp::parse_wide(std::string_view s, timestamp& out) {
    if (!parse_time(s, out, /*wide=*/true)) return date::parse_error::malformed;
    return out.in_range() ? date::parse_error::none : date::parse_error::out_of_range;
}

std::optional<timestamp> timestamp::parse(std::string_view s) {
    timestamp t;
    if (!parse(s, t)) return std::nullopt;
    return t;
}

date timestamp::utc_date() const {
    std::int64_t days = ms >= 0 ? ms / 86'400'000 : -((-ms + 86'399'999) / 86'400'000);
    return date::from_days(static_cast<std::int32_t>(days));
}

std::string timestamp::to_string() const {
    std::string s;
    append_to(s);
    return s;
}

char* timestamp::write_to(char* out) const {
    const date d = utc_date();
    const std::int64_t rem = ms - std::int64_t{d.days()} * 86'400'000;
    char* p = d.write_to(out);
    p[0] = 'T';
    p[3] = ':';
    p[6] = ':';
    p[9] = '.';
    p[13] = 'Z';
    std::uint32_t hours, minutes, seconds, millis;
    if (rem >= 0 && rem < 86'400'000) {
        // Always, unless ms is so far out that its day overflows an int32:
        // 32-bit unsigned division by constants is a multiply and a shift.
        const auto in_day = static_cast<std::uint32_t>(rem);
        const std::uint32_t whole_seconds = in_day / 1000;
        millis = in_day - whole_seconds * 1000;
        hours = whole_seconds / 3600;
        const std::uint32_t in_hour = whole_seconds - hours * 3600;
        minutes = in_hour / 60;
        seconds = in_hour - minutes * 60;
    } else {
        // Each part as its last two (three) digits, as ever.
        hours = static_cast<std::uint32_t>(rem / 3'600'000) % 100;
        minutes = static_cast<std::uint32_t>(rem / 60'000 % 60) % 100;
        seconds = static_cast<std::uint32_t>(rem / 1000 % 60) % 100;
        millis = static_cast<std::uint32_t>(rem % 1000) % 1000;
    }
    detail::write_2_digits(p + 1, hours);
    detail::write_2_digits(p + 4, minutes);
    detail::write_2_digits(p + 7, seconds);
    p[10] = static_cast<char>('0' + millis / 100);
    detail::write_2_digits(p + 11, millis % 100);
    return out + text_bytes;
}

void timestamp::append_to(std::string& out) const {
    char buf[text_bytes];
    out.append(buf, write_to(buf));
}

} // namespace posd

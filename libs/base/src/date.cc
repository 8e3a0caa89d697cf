#include "base/date.h"

#include <fmt/format.h>

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

constexpr bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int y, int m) {
    static constexpr int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
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

} // namespace

std::optional<date> date::from_ymd(int year, int month, int day) {
    if (year < 1900 || year > 2999 || month < 1 || month > 12) return std::nullopt;
    if (day < 1 || day > days_in_month(year, month)) return std::nullopt;
    return from_days(days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)));
}

std::optional<date> date::parse(std::string_view s) {
    int y, m, d;
    if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
    if (!digits(s, 0, 4, y) || !digits(s, 5, 2, m) || !digits(s, 8, 2, d)) return std::nullopt;
    return from_ymd(y, m, d);
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

// Writes `v` as exactly `width` decimal digits (v must fit).
static void put_digits(char* p, unsigned v, int width) {
    for (int i = width - 1; i >= 0; --i) {
        p[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
}

void date::append_to(std::string& out) const {
    // Formatting is on the hot path of every event; fmt's format-string
    // parsing cost more than the rest of a date.
    auto c = civil_from_days(days_);
    char buf[10] = {0, 0, 0, 0, '-', 0, 0, '-', 0, 0};
    put_digits(buf, static_cast<unsigned>(c.y), 4);
    put_digits(buf + 5, c.m, 2);
    put_digits(buf + 8, c.d, 2);
    out.append(buf, sizeof buf);
}

std::optional<timestamp> timestamp::parse(std::string_view s) {
    auto d = date::parse(s.substr(0, 10));
    if (!d) return std::nullopt;
    std::int64_t ms = std::int64_t{d->days()} * 86'400'000;
    if (s.size() == 10) return timestamp{ms};
    int hh, mm, ss;
    if (s.size() < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        return std::nullopt;
    if (!digits(s, 11, 2, hh) || !digits(s, 14, 2, mm) || !digits(s, 17, 2, ss)) return std::nullopt;
    if (hh > 23 || mm > 59 || ss > 60) return std::nullopt;
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
        if (n == 0) return std::nullopt;
        for (; n < 3; ++n) frac_ms *= 10;
        ms += frac_ms;
    }
    if (i >= s.size()) return std::nullopt;
    if (s[i] == 'Z' || s[i] == 'z') {
        ++i;
    } else if (s[i] == '+' || s[i] == '-') {
        int oh, om;
        if (i + 6 != s.size() || s[i + 3] != ':' || !digits(s, i + 1, 2, oh) ||
            !digits(s, i + 4, 2, om) || oh > 23 || om > 59)
            return std::nullopt;
        std::int64_t off = (std::int64_t{oh} * 60 + om) * 60'000;
        ms += s[i] == '+' ? -off : off;
        i += 6;
    } else {
        return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
    return timestamp{ms};
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

void timestamp::append_to(std::string& out) const {
    date d = utc_date();
    std::int64_t rem = ms - std::int64_t{d.days()} * 86'400'000;
    d.append_to(out);
    char buf[14] = {'T', 0, 0, ':', 0, 0, ':', 0, 0, '.', 0, 0, 0, 'Z'};
    put_digits(buf + 1, static_cast<unsigned>(rem / 3'600'000), 2);
    put_digits(buf + 4, static_cast<unsigned>(rem / 60'000 % 60), 2);
    put_digits(buf + 7, static_cast<unsigned>(rem / 1000 % 60), 2);
    put_digits(buf + 10, static_cast<unsigned>(rem % 1000), 3);
    out.append(buf, sizeof buf);
}

} // namespace posd

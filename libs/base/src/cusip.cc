#include "base/cusip.h"

namespace posd::cusip {
namespace {
int char_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    if (c == '*') return 36;
    if (c == '@') return 37;
    if (c == '#') return 38;
    return -1;
}
} // namespace

std::optional<char> check_digit(std::string_view s) {
    if (s.size() < 8) return std::nullopt;
    int sum = 0;
    for (int i = 0; i < 8; ++i) {
        int v = char_value(s[static_cast<std::size_t>(i)]);
        if (v < 0) return std::nullopt;
        if (i % 2 == 1) v *= 2;
        sum += v / 10 + v % 10;
    }
    return static_cast<char>('0' + (10 - sum % 10) % 10);
}

bool well_formed(std::string_view s) {
    if (s.size() != 9) return false;
    for (char c : s.substr(0, 8))
        if (char_value(c) < 0) return false;
    return s[8] >= '0' && s[8] <= '9';
}

bool valid(std::string_view s) {
    if (!well_formed(s)) return false;
    return check_digit(s) == s[8];
}

} // namespace posd::cusip
